package suite_test

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/suite"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// rawRequest writes raw bytes to the gateway on a fresh connection and returns it.
func rawConn(t *testing.T, env *suitetest.Env) net.Conn {
	t.Helper()
	u, err := url.Parse(env.Suite.GatewayURL)
	require.NoError(t, err)
	c, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedWithin reports whether the server closes c within d (reading and dropping
// whatever it sends first).
func closedWithin(t *testing.T, c net.Conn, d time.Duration) bool {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(d)))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true
}

// Issue 12, item 7: a body over the limit is refused with 413 before it is read — a
// declared one before a byte of it arrives, a chunked one at the limit — and gRPC's
// own size refusals answer 413 too, not 429 with gRPC's text.
func TestBodyLimit_Issue12(t *testing.T) {
	env := suitetest.Start(t, func(c *suite.Config) { c.MaxBodyBytes = 4096 })
	seed := env.SeedLineItem(t, "limit-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}

	// 150 MB announced, nothing sent: the answer comes at once, so the gateway read none
	// of it (it could not have: the bytes never left the client).
	c := rawConn(t, env)
	_, err := io.WriteString(c, "POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 157286400\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err, "the gateway answers without waiting for the body")
	var body struct{ Error map[string]any }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Equal(t, "REQUEST_TOO_LARGE", body.Error["reason"])
	require.EqualValues(t, 413, body.Error["code"])
	require.Contains(t, body.Error["message"], "4096 bytes")

	// Chunked (no Content-Length): cut off at the limit, on the API and the sign-in door.
	big := strings.NewReader(`{"account":{"display_name":"` + strings.Repeat("x", 10_000) + `"}}`)
	for _, path := range []string{"/v1/accounts", "/v1/auth:login"} {
		req, err := http.NewRequestWithContext(t.Context(), "POST", env.Suite.GatewayURL+path, io.MultiReader(big))
		require.NoError(t, err)
		req.ContentLength = -1
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, path)
		_, _ = big.Seek(0, io.SeekStart)
	}

	// An answer larger than the gRPC message limit (which matches the body limit):
	// RESOURCE_EXHAUSTED from gRPC itself is 413 with a clean message, not a 429.
	acc := accountpb.NewAccountServiceClient(env.Dial(t, "account"))
	ctx := env.As(t, suitetest.Producer("limit-co"))
	for range 60 {
		_, err := acc.CreateAccount(ctx, &accountpb.CreateAccountRequest{Account: &accountpb.Account{
			DisplayName: "Customer with a name long enough to fill the page", Type: accountpb.AccountType_ACCOUNT_TYPE_CUSTOMER,
		}})
		require.NoError(t, err)
	}
	admin := api.as(login(api, seed.Tenant, "admin", "Admin-Password-1"))
	e := admin.refused(http.StatusRequestEntityTooLarge, "GET", "/v1/accounts?page_size=100", nil)
	require.Equal(t, "REQUEST_TOO_LARGE", e["reason"])
	require.NotContains(t, e["message"], "grpc")
	admin.ok("GET", "/v1/accounts?page_size=2", nil)
}

// Issue 12, item 7: every phase of a connection is bounded — headers, a half-sent
// body, keep-alive idleness — while a download slower than the write timeout still
// streams to the end.
func TestServerTimeouts_Issue12(t *testing.T) {
	env := suitetest.Start(t, func(c *suite.Config) {
		c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = 300*time.Millisecond, 600*time.Millisecond, 500*time.Millisecond, 600*time.Millisecond
	})
	seed := env.SeedLineItem(t, "slow-co", 1)

	t.Run("headers never finished", func(t *testing.T) {
		c := rawConn(t, env)
		_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
		require.NoError(t, err)
		require.True(t, closedWithin(t, c, 3*time.Second))
	})
	t.Run("body never finished", func(t *testing.T) {
		c := rawConn(t, env)
		_, err := io.WriteString(c, "POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"acc")
		require.NoError(t, err)
		require.True(t, closedWithin(t, c, 3*time.Second))
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c := rawConn(t, env)
		_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		_ = resp.Body.Close()
		require.True(t, closedWithin(t, c, 3*time.Second))
	})

	t.Run("slow download outlives the write timeout", func(t *testing.T) {
		api := rest{t: t, base: env.Suite.GatewayURL}
		admin := api.as(login(api, seed.Tenant, "admin", "Admin-Password-1"))
		content := make([]byte, 6<<20)
		_, _ = rand.Read(content)
		// Uploaded over gRPC: a REST upload this size takes longer than the short read
		// timeout of this test.
		dl := downloadpb.NewDownloadServiceClient(env.Dial(t, "download"))
		ctx := env.As(t, suitetest.Producer(seed.Tenant))
		_, err := dl.CreatePackage(ctx, &downloadpb.CreatePackageRequest{PackageId: "big", Package: &downloadpb.Package{DisplayName: "Big", Product: "products/" + seed.ProductID}})
		require.NoError(t, err)
		file, err := dl.CreateFile(ctx, &downloadpb.CreateFileRequest{Parent: "packages/big", Filename: "big.bin", Content: content})
		require.NoError(t, err)

		// A client with a small receive window that reads 64 KiB every 20 ms: about
		// 2 s for the file, four times the write timeout.
		dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10) })
		}}
		client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
		req, err := http.NewRequestWithContext(t.Context(), "GET", env.Suite.GatewayURL+"/v1/"+file.GetName()+":download", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+admin.token)
		start := time.Now()
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		h := sha256.New()
		buf := make([]byte, 64<<10)
		for {
			n, err := io.ReadFull(resp.Body, buf)
			h.Write(buf[:n])
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) && n < len(buf) {
				break
			}
			require.NoError(t, err)
			time.Sleep(20 * time.Millisecond)
		}
		want := sha256.Sum256(content)
		require.Greater(t, time.Since(start), time.Second, "the download took longer than the timeouts")
		require.Equal(t, want[:], h.Sum(nil), "the whole file arrived")
	})
}

// Issue 12, items 13 and 18: security headers, a request ID on every response, 405
// for methods the API does not serve, and CORS only for configured origins.
func TestEdgeHeaders_Issue12(t *testing.T) {
	env := suitetest.Start(t, func(c *suite.Config) { c.CORSAllowedOrigins = []string{"https://portal.example"} })
	seed := env.SeedLineItem(t, "edge-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}
	admin := api.as(login(api, seed.Tenant, "admin", "Admin-Password-1"))

	got := admin.do("GET", "/v1/lineItems/"+seed.ActivationID, nil)
	require.Equal(t, http.StatusOK, got.Status)
	require.Equal(t, "nosniff", got.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "no-store", got.Header.Get("Cache-Control"))
	require.Regexp(t, `^[0-9a-f]{32}$`, got.Header.Get("X-Request-Id"), "a request ID is made when none is sent")
	login := api.do("POST", "/v1/auth:login", map[string]any{"tenant_id": seed.Tenant, "username": "admin", "password": "Admin-Password-1"})
	require.Equal(t, "no-store", login.Header.Get("Cache-Control"), "the token's answer is never cached")
	require.Equal(t, "nosniff", api.do("GET", "/v1/nothing-here", nil).Header.Get("X-Content-Type-Options"))

	require.Equal(t, "client-req.42", admin.do("GET", "/v1/lineItems/"+seed.ActivationID, nil, "X-Request-Id", "client-req.42").Header.Get("X-Request-Id"))
	for _, bad := range []string{strings.Repeat("a", 200), "two words", "inj\"ect"} {
		id := admin.do("GET", "/healthz", nil, "X-Request-Id", bad).Header.Get("X-Request-Id")
		require.Regexp(t, `^[0-9a-f]{32}$`, id, "an unusable request ID %q is replaced", bad)
	}
	// The ID is on the gateway's span; a secret in a path reaches no span.
	api.do("POST", "/v1/invitations/inv_5ec7e7:accept", map[string]any{}, "X-Request-Id", "secret-path")
	require.Eventually(t, func() bool {
		var withID, redacted bool
		for _, sp := range suitetest.Spans.GetSpans() {
			for _, a := range sp.Attributes {
				withID = withID || a.Key == "http.request_id" && a.Value.AsString() == "client-req.42"
				if a.Key == "http.request_id" && a.Value.AsString() == "secret-path" {
					redacted = sp.Name == "POST /v1/invitations/REDACTED:accept"
					for _, b := range sp.Attributes {
						redacted = redacted && !strings.Contains(b.Value.String(), "inv_5ec7e7")
					}
				}
			}
		}
		return withID && redacted
	}, 5*time.Second, 50*time.Millisecond)
	// Errors carry the ID too.
	require.NotEmpty(t, api.do("GET", "/v1/lineItems/"+seed.ActivationID, nil).Header.Get("X-Request-Id"))

	for _, m := range []string{"OPTIONS", "TRACE", "PUT"} {
		e := api.do(m, "/v1/accounts", nil)
		require.Equal(t, http.StatusMethodNotAllowed, e.Status, m)
		require.Equal(t, "GET, POST", e.Header.Get("Allow"), m)
		require.EqualValues(t, 405, e.Body["error"].(map[string]any)["code"], m)
	}

	// CORS: a preflight from the configured origin is answered, others are not.
	pre := api.do("OPTIONS", "/v1/accounts", nil, "Origin", "https://portal.example", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusNoContent, pre.Status)
	require.Equal(t, "https://portal.example", pre.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, pre.Header.Get("Access-Control-Allow-Headers"), "Authorization")
	require.Contains(t, pre.Header.Get("Access-Control-Allow-Methods"), "PATCH")
	other := api.do("OPTIONS", "/v1/accounts", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusMethodNotAllowed, other.Status)
	require.Empty(t, other.Header.Get("Access-Control-Allow-Origin"))
	simple := admin.do("GET", "/v1/lineItems/"+seed.ActivationID, nil, "Origin", "https://portal.example")
	require.Equal(t, "https://portal.example", simple.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, simple.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id")
	require.Empty(t, admin.do("GET", "/v1/lineItems/"+seed.ActivationID, nil, "Origin", "https://evil.example").Header.Get("Access-Control-Allow-Origin"))
}

// CORS is off by default: no origin is answered.
func TestCORSOffByDefault_Issue12(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	pre := api.do("OPTIONS", "/v1/accounts", nil, "Origin", "https://portal.example", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusMethodNotAllowed, pre.Status)
	require.Empty(t, pre.Header.Get("Access-Control-Allow-Origin"))
}

// Issue 12, items 14 and 16: zero values are in the JSON, update masks are accepted in
// snake_case and camelCase, and wrong-type JSON names the field in the standard shape.
func TestRESTShapes_Issue12(t *testing.T) {
	env := suitetest.Start(t)
	seed := env.SeedLineItem(t, "shape-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}
	admin := api.as(login(api, seed.Tenant, "admin", "Admin-Password-1"))
	lineItem := "/v1/lineItems/" + seed.ActivationID

	admin.ok("POST", lineItem+":activate", map[string]any{"host_id": "HOSTNAME=zero", "quantity": 1, "request_id": "zero-1"})
	li := admin.ok("GET", lineItem, nil)
	require.Contains(t, li, "available", "a zero count is emitted")
	require.EqualValues(t, 0, num(li["available"]))

	account := "/v1/accounts/" + seed.AccountID
	for i, mask := range []string{"display_name", "displayName"} {
		name := "Renamed " + mask
		got := admin.ok("PATCH", account, map[string]any{"account": map[string]any{"display_name": name}, "update_mask": mask})
		require.Equal(t, name, got["display_name"], "mask %d (%s)", i, mask)
	}

	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"host_id": "HOSTNAME=x", "quantity": "abc"}, "quantity"},
		{map[string]any{"host_id": 12, "quantity": 1}, "host_id"},
		{map[string]any{"hostId": "HOSTNAME=x", "requestId": true}, "request_id"},
		{map[string]any{"colour": "red"}, "colour"},
	} {
		e := admin.refused(http.StatusBadRequest, "POST", lineItem+":activate", c.body)
		require.Equal(t, "INVALID_ARGUMENT", e["status"], c.field)
		v := e["field_violations"].([]any)[0].(map[string]any)
		require.Equal(t, c.field, v["field"], "%v", c.body)
		require.NotContains(t, e["message"], "proto:")
	}
	require.EqualValues(t, 1, num(admin.ok("GET", lineItem, nil)["fulfilled"]), "refused requests change nothing")
}

// Issue 12, item 11: no secret travels in a URL. The invitation and web register key
// routes take theirs in the body; a secret put in a path anyway is redacted in the
// access log.
func TestNoSecretsInURLs_Issue12(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "proto", "tessera", "http.yaml"))
	require.NoError(t, err)
	for _, secret := range []string{"{token}", "{key}", "{password}", "{secret}"} {
		require.NotContains(t, string(raw), secret, "a route takes a secret in its path")
	}
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	require.NoError(t, json.Unmarshal(api.do("GET", "/openapi.json", nil).Raw, &doc))
	require.Contains(t, doc.Paths, "/v1/invitations:accept")
	require.Contains(t, doc.Paths, "/v1/webRegisterKeys:redeem")
}

var httpRule = regexp.MustCompile(`(?m)^\s+(get|post|patch|delete|put):\s+(\S+)`)

// shape reduces a path template to its literal skeleton: /v1/{name=accounts/*}:tree
// and /v1/accounts/{account}:tree both give /v1/accounts/{}:tree.
func shape(path string) string {
	var b strings.Builder
	for len(path) > 0 {
		open := strings.IndexByte(path, '{')
		if open < 0 {
			b.WriteString(path)
			break
		}
		b.WriteString(path[:open])
		end := strings.IndexByte(path, '}')
		inner := path[open+1 : end]
		if _, pattern, ok := strings.Cut(inner, "="); ok {
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(pattern, "**", "{}"), "*", "{}"))
		} else {
			b.WriteString("{}")
		}
		path = path[end+1:]
	}
	return b.String()
}

// Issue 12, item 15: the served OpenAPI document has every route the gateway serves —
// every http.yaml rule and the hand-written routes — with readable path parameter
// names, a bearer security scheme and a real title.
func TestOpenAPICoversEveryRoute_Issue12(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	got := api.do("GET", "/openapi.json", nil)
	require.Equal(t, http.StatusOK, got.Status)
	var doc struct {
		Info struct {
			Title, Version string
		}
		SecurityDefinitions map[string]struct {
			Type, In, Name string
		}
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name, In string
			}
			Security *[]map[string][]string
		}
	}
	require.NoError(t, json.Unmarshal(got.Raw, &doc))

	// Issue g1, item 1: what client generators need. No wildcard in a path, every
	// template name declared as a path parameter, unique operation IDs, and the public
	// RPCs' operations marked as needing no credentials.
	public := map[string]bool{} // generated operation ID -> public
	for _, svc := range suite.ServiceNames {
		for method, perm := range suite.Permissions(svc) {
			service, rpc, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
			public[service[strings.LastIndex(service, ".")+1:]+"_"+rpc] = perm == authz.Public
		}
	}
	ids := map[string]string{}
	publicSeen := 0
	for path, ops := range doc.Paths {
		require.NotContains(t, path, "*", "a wildcard in a path")
		for method, op := range ops {
			require.NotEmpty(t, op.OperationID, "%s %s", method, path)
			require.NotContains(t, op.OperationID, "*")
			other, dup := ids[op.OperationID]
			require.False(t, dup, "operationId %s of %s %s is also %s's", op.OperationID, method, path, other)
			ids[op.OperationID] = method + " " + path
			declared := map[string]bool{}
			for _, p := range op.Parameters {
				if p.In == "path" {
					declared[p.Name] = true
				}
			}
			for _, m := range regexp.MustCompile(`\{([^}]*)\}`).FindAllStringSubmatch(path, -1) {
				require.True(t, declared[m[1]], "%s %s does not declare its path parameter %s", method, path, m[1])
			}
			if public[op.OperationID] {
				publicSeen++
				require.NotNil(t, op.Security, "%s %s is public: security must be []", method, path)
				require.Empty(t, *op.Security, "%s %s is public", method, path)
			} else if op.Security != nil {
				require.NotEmpty(t, *op.Security, "%s %s needs credentials but says it needs none", method, path)
			}
		}
	}
	require.GreaterOrEqual(t, publicSeen, 7, "login, sign-in with key, reset, registration, join, public keys, subscription pull")
	require.Contains(t, doc.Paths, "/v1/accounts/{account}/hosts:export")
	require.Equal(t, "Tessera REST API", doc.Info.Title)
	require.Equal(t, "v1", doc.Info.Version)
	require.Equal(t, "Authorization", doc.SecurityDefinitions["bearer"].Name)
	require.Equal(t, "header", doc.SecurityDefinitions["bearer"].In)

	served := map[string]map[string]bool{} // shape -> methods
	paramName := regexp.MustCompile(`\{([^}]*)\}`)
	for path, ops := range doc.Paths {
		for _, m := range paramName.FindAllStringSubmatch(path, -1) {
			require.Regexp(t, `^[a-z][A-Za-z]*(_[a-z]+)*$`, m[1], "parameter of %s", path)
		}
		for method, op := range ops {
			if served[shape(path)] == nil {
				served[shape(path)] = map[string]bool{}
			}
			served[shape(path)][method] = true
			inPath := 0
			for _, p := range op.Parameters {
				if p.In == "path" {
					inPath++
				}
			}
			require.Equal(t, len(paramName.FindAllString(path, -1)), inPath, "%s %s declares its path parameters", method, path)
		}
	}

	raw, err := os.ReadFile(filepath.Join("..", "..", "proto", "tessera", "http.yaml"))
	require.NoError(t, err)
	rules := httpRule.FindAllStringSubmatch(string(raw), -1)
	require.Greater(t, len(rules), 100)
	want := make([][2]string, 0, len(rules)+12)
	for _, r := range rules {
		want = append(want, [2]string{r[1], r[2]})
	}
	// The routes the gateway's /v1/ dispatcher serves by hand.
	for _, p := range []string{
		"/v1/packages/{p}/files/{f}:download", "/v1/fulfillments/{f}:licenseFile", "/v1/consolidatedLicenses/{c}:licenseFile",
		"/v1/fulfillments/{f}:print", "/v1/fulfillments:export", "/v1/lineItems:export", "/v1/entitlements:export",
		"/v1/expiringLineItems:export", "/v1/products:export", "/v1/organizations:export", "/v1/accounts:export", "/v1/users:export",
	} {
		want = append(want, [2]string{"get", p})
	}
	for _, w := range want {
		require.True(t, served[shape(w[1])][w[0]], "%s %s is missing from /openapi.json", w[0], w[1])
	}
}
