package suite_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// rawDo sends a request whose body and URL are taken as they are, so that a test can
// send bytes json.Marshal would have replaced (invalid UTF-8).
func (r rest) rawDo(method, rawURL string, body []byte) reply {
	r.t.Helper()
	req, err := http.NewRequestWithContext(r.t.Context(), method, r.base+rawURL, bytes.NewReader(body))
	require.NoError(r.t, err)
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer func() { _ = resp.Body.Close() }()
	var raw bytes.Buffer
	_, err = raw.ReadFrom(resp.Body)
	require.NoError(r.t, err)
	return reply{Status: resp.StatusCode, Raw: raw.Bytes(), Header: resp.Header}
}

// TestBadStringsAreRefused_Hardening8: NUL bytes and control characters, in bodies,
// path IDs, filters and the unauthenticated doors, are refused with 400 and the field
// named — never a 500 from Postgres refusing the byte — and nothing is stored.
func TestBadStringsAreRefused_Hardening8(t *testing.T) {
	env := suitetest.Start(t)
	seed := env.SeedLineItem(t, "str-co", 5)
	api := rest{t: t, base: env.Suite.GatewayURL}
	admin := api.as(login(api, "str-co", "admin", "Admin-Password-1"))
	admin.ok("POST", "/v1/packages", map[string]any{"package_id": "pkg", "package": map[string]any{"display_name": "Pkg", "product": "products/" + seed.ProductID}})

	probes := []struct {
		name, method, path string
		body               any
		anonymous          bool
		field              string // the field violation named, "" for any
	}{
		{"product name, NUL", "POST", "/v1/products", map[string]any{"product_id": "p1", "product": map[string]any{"display_name": "CAD\x00Pro"}}, false, "product.display_name"},
		{"product name, ESC", "POST", "/v1/products", map[string]any{"product_id": "p2", "product": map[string]any{"display_name": "\x1b[31mCAD"}}, false, "product.display_name"},
		{"product name, BEL", "POST", "/v1/products", map[string]any{"product_id": "p3", "product": map[string]any{"display_name": "CAD\a"}}, false, "product.display_name"},
		{"product name, CR LF", "POST", "/v1/products", map[string]any{"product_id": "p4", "product": map[string]any{"display_name": "CAD\r\nPro"}}, false, "product.display_name"},
		{"product ID, NUL", "POST", "/v1/products", map[string]any{"product_id": "p\x00", "product": map[string]any{"display_name": "CAD"}}, false, "product_id"},
		{"feature, nested and repeated", "POST", "/v1/products", map[string]any{"product_id": "p5", "product": map[string]any{"display_name": "CAD", "features": []any{map[string]any{"name": "f\x00", "version": "1.0"}}}}, false, "product.features[0].name"},
		{"account name, NUL", "POST", "/v1/accounts", map[string]any{"account_id": "A1", "account": map[string]any{"display_name": "Acme\x00", "type": "ACCOUNT_TYPE_CUSTOMER"}}, false, "account.display_name"},
		{"account attribute key", "POST", "/v1/accounts", map[string]any{"account_id": "A2", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER", "attributes": map[string]any{"k\x00": "v"}}}, false, "account.attributes"},
		{"user name, NUL", "POST", "/v1/users", map[string]any{"password": "Alice-Secret-1", "user": map[string]any{"username": "al\x00ice", "email": "a@x.example"}}, false, "user.username"},
		{"order ID, NUL", "POST", "/v1/orders", map[string]any{"order_id": "SO\x00", "lines": []any{map[string]any{"line_number": "1", "product": "products/" + seed.ProductID, "quantity": 1}}}, false, "order_id"},
		{"host ID, NUL", "POST", "/v1/lineItems/" + seed.ActivationID + ":activate", map[string]any{"host_id": "HOSTNAME=a\x00", "quantity": 1, "request_id": "r1"}, false, "host_id"},
		{"device name, ESC", "POST", "/v1/devices", map[string]any{"device_id": "d1", "device": map[string]any{"account": "accounts/" + seed.AccountID, "display_name": "\x1b", "type": "DEVICE_TYPE_STANDALONE"}}, false, "device.display_name"},
		{"file name, NUL", "POST", "/v1/packages/pkg/files", map[string]any{"filename": "a\x00.txt", "content": base64.StdEncoding.EncodeToString([]byte("x"))}, false, "filename"},
		{"path ID, NUL", "GET", "/v1/accounts/A%00B", nil, false, "path"},
		{"path ID, ESC", "GET", "/v1/products/%1B", nil, false, "path"},
		{"path ID, invalid UTF-8", "GET", "/v1/lineItems/%FF%FE", nil, false, "path"},
		{"path ID of a custom method", "POST", "/v1/lineItems/ACT%00:activate", map[string]any{"host_id": "HOSTNAME=a", "quantity": 1}, false, "path"},
		{"filter, NUL", "GET", "/v1/accounts?filter=display_name%3D%22a%00%22", nil, false, "filter"},
		{"filter, invalid UTF-8", "GET", "/v1/products?filter=%FF", nil, false, "filter"},
		{"order_by, BEL", "GET", "/v1/users?order_by=%07", nil, false, "order_by"},
		{"download path", "GET", "/v1/packages/pkg/files/%00:download", nil, false, "path"},
		{"license file path", "GET", "/v1/fulfillments/FID%00:licenseFile", nil, false, "path"},
		{"print path", "GET", "/v1/fulfillments/%1B:print", nil, false, "path"},
		{"export filter", "GET", "/v1/products:export?filter=%00", nil, false, "filter"},
		{"export names", "GET", "/v1/accounts:export?names=%1B", nil, false, "names"},
		{"export query key", "GET", "/v1/accounts:export?%00=1", nil, false, "query"},
		{"login tenant, NUL", "POST", "/v1/auth:login", map[string]any{"tenant_id": "str\x00co", "username": "admin", "password": "Admin-Password-1"}, true, "tenant_id"},
		{"login user name, ESC", "POST", "/v1/auth:login", map[string]any{"tenant_id": "str-co", "username": "admin\x1b", "password": "Admin-Password-1"}, true, "username"},
		{"login password, NUL", "POST", "/v1/auth:login", map[string]any{"tenant_id": "str-co", "username": "admin", "password": "Admin-Password-1\x00"}, true, "password"},
		{"sign-in key, NUL", "POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "str-co", "key": "ENT\x00"}, true, "key"},
		{"public keys tenant, NUL", "GET", "/v1/tenants/str%00co/publicKeys", nil, true, "path"},
		{"registration, nested", "POST", "/v1/registrations", map[string]any{"tenant_id": "str-co", "key": "K", "company": "Newco", "person": map[string]any{"first_name": "N\x00", "last_name": "N", "email": "n@x.example"}}, true, "person.first_name"},
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			caller := admin
			if p.anonymous {
				caller = api
			}
			caller.t = t
			e := caller.refused(http.StatusBadRequest, p.method, p.path, p.body)
			assert.Equal(t, "INVALID_ARGUMENT", e["status"])
			if p.field != "" {
				assert.Contains(t, fieldViolations(e), p.field)
			}
		})
	}

	// Nothing of the refused requests was stored.
	conn, err := pgx.Connect(t.Context(), env.DatabaseURL)
	require.NoError(t, err)
	defer func() { _ = conn.Close(t.Context()) }()
	var stored int
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM entitlement.products WHERE id LIKE 'p%') +
		(SELECT count(*) FROM account.accounts WHERE id IN ('A1', 'A2')) + (SELECT count(*) FROM device.devices WHERE id = 'd1')`).Scan(&stored))
	assert.Zero(t, stored)

	// Line breaks and tabs are text in a description, and stay as written.
	desc := "First line\n\tindented\r\nlast"
	got := admin.ok("POST", "/v1/products", map[string]any{"product_id": "multi", "product": map[string]any{"display_name": "Multi", "description": desc, "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE"}})
	assert.Equal(t, desc, got["description"])
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/products", map[string]any{"product_id": "bell", "product": map[string]any{"display_name": "Bell", "description": "ding\a"}})
	assert.Equal(t, []string{"product.description"}, fieldViolations(e))
}

// TestOverlongStringsAreRefused_Hardening6: every string has a bound — an over-long
// product name or description is refused with 400 naming the field, and neither the
// product nor its event (which could outgrow the broker's limit) is stored.
func TestOverlongStringsAreRefused_Hardening6(t *testing.T) {
	env := suitetest.Start(t)
	env.SeedLineItem(t, "long-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}
	admin := api.as(login(api, "long-co", "admin", "Admin-Password-1"))
	conn, err := pgx.Connect(t.Context(), env.DatabaseURL)
	require.NoError(t, err)
	defer func() { _ = conn.Close(t.Context()) }()
	count := func() (rows int) {
		require.NoError(t, conn.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM entitlement.products) + (SELECT count(*) FROM entitlement.outbox)`).Scan(&rows))
		return rows
	}
	before := count()

	for _, tc := range []struct {
		name    string
		product map[string]any
		field   string
	}{
		{"name of 257 characters", map[string]any{"display_name": strings.Repeat("é", 257)}, "product.display_name"},
		{"name of 200 KB", map[string]any{"display_name": strings.Repeat("x", 200<<10)}, "product.display_name"},
		{"description of 4097 characters", map[string]any{"display_name": "CAD", "description": strings.Repeat("d", 4097)}, "product.description"},
		{"part number of 257 characters", map[string]any{"display_name": "CAD", "part_numbers": []string{"ok", strings.Repeat("p", 257)}}, "product.part_numbers[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := admin
			a.t = t
			tc.product["license_technology"] = "LICENSE_TECHNOLOGY_CERTIFICATE" // valid but for the string
			e := a.refused(http.StatusBadRequest, "POST", "/v1/products", map[string]any{"product_id": "big", "product": tc.product})
			assert.Equal(t, []string{tc.field}, fieldViolations(e))
		})
	}
	admin.refused(http.StatusNotFound, "GET", "/v1/products/big", nil)
	assert.Equal(t, before, count(), "a refused product leaves no row and no event")

	// At the bounds, the same request is accepted.
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "big", "product": map[string]any{
		"display_name": strings.Repeat("é", 256), "description": strings.Repeat("d", 4096), "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
	}})
	// An update is held to the same bound.
	e := admin.refused(http.StatusBadRequest, "PATCH", "/v1/products/big", map[string]any{"product": map[string]any{"display_name": strings.Repeat("x", 257)}, "update_mask": "displayName"})
	assert.Equal(t, []string{"product.display_name"}, fieldViolations(e), "%v", e)
	got := admin.ok("GET", "/v1/products/big", nil)
	assert.Equal(t, strings.Repeat("é", 256), got["display_name"])
}

// TestEveryServiceChecksStrings_Hardening8: the rule is in every service's gRPC
// server, for partner systems that call gRPC directly and for the services' own
// calls to each other, streams included — not only behind the gateway.
func TestEveryServiceChecksStrings_Hardening8(t *testing.T) {
	env := suitetest.Start(t)
	env.SeedLineItem(t, "grpc-co", 1)
	ctx := env.As(t, suitetest.Producer("grpc-co"))
	anon := t.Context()
	calls := map[string]func() error{
		"account (unauthenticated login)": func() error {
			_, err := accountpb.NewAuthServiceClient(env.Dial(t, "account")).Login(anon, &accountpb.LoginRequest{TenantId: "grpc-co", Username: "admin\x00", Password: "x"})
			return err
		},
		"entitlement": func() error {
			_, err := entitlementpb.NewCatalogServiceClient(env.Dial(t, "entitlement")).GetProduct(ctx, &entitlementpb.GetProductRequest{Name: "products/\x00"})
			return err
		},
		"license (unauthenticated public keys)": func() error {
			_, err := licensepb.NewLicenseServiceClient(env.Dial(t, "license")).ListPublicKeys(anon, &licensepb.ListPublicKeysRequest{TenantId: "grpc\x00co"})
			return err
		},
		"device": func() error {
			_, err := devicepb.NewDeviceServiceClient(env.Dial(t, "device")).GetDevice(ctx, &devicepb.GetDeviceRequest{Name: "devices/\x00"})
			return err
		},
		"download (stream)": func() error {
			s, err := downloadpb.NewDownloadServiceClient(env.Dial(t, "download")).DownloadFile(ctx, &downloadpb.DownloadFileRequest{Name: "packages/p/files/\x07"})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		})
	}
}

// FuzzRESTEdge sends arbitrary text as a JSON body string, a path segment, a filter
// and a raw body to the real gateway and services: whatever arrives, the answer is
// never a server error.
func FuzzRESTEdge(f *testing.F) {
	env := suitetest.Start(f)
	env.SeedLineItem(f, "fuzz-co", 5)
	for _, s := range []string{
		"", "CAD", "\x00", "a\x00b", "\x1b[0m", "\a", "\r\n", "\t", "\x7f", "\u0085", "\u2028", "\xff\xfe", "\xc3",
		"%00", "%", "..", "../..", "/", "a/b", ":", "?", "#", "*", `"`, `\`, `\u0000`, "{", "}", strings.Repeat("x", 300),
		`display_name = "x"`, `display_name = "*"`, "a b", "日本語", "\U0001F680",
	} {
		for where := range uint8(5) {
			f.Add(where, s)
		}
	}
	// The tenant's admin signs in once, on the first input: each sign-in costs an
	// Argon2 hash, which would otherwise dominate every input.
	var (
		once  sync.Once
		token string
	)
	f.Fuzz(func(t *testing.T, where uint8, s string) {
		api := rest{t: t, base: env.Suite.GatewayURL}
		once.Do(func() { token = login(api, "fuzz-co", "admin", "Admin-Password-1") })
		admin := api.as(token)
		var got reply
		switch where % 5 {
		case 0: // a string in a JSON body, escaped as JSON (invalid UTF-8 becomes U+FFFD)
			got = admin.do("POST", "/v1/products", map[string]any{"product": map[string]any{"display_name": s, "description": s, "version": s}})
		case 1: // the same bytes raw inside the JSON text, invalid UTF-8 included
			got = admin.rawDo("POST", "/v1/accounts", []byte(`{"account":{"display_name":"`+s+`","type":"ACCOUNT_TYPE_CUSTOMER"}}`))
		case 2: // a path segment
			got = admin.rawDo("GET", "/v1/lineItems/"+url.PathEscape(s), nil)
		case 3: // a filter, and the gateway's own export route
			got = admin.rawDo("GET", "/v1/products?filter="+url.QueryEscape(s), nil)
			require.Less(t, got.Status, 500, "filter %q: %s", s, got.Raw)
			got = admin.rawDo("GET", "/v1/products:export?filter="+url.QueryEscape(s)+"&names="+url.QueryEscape(s), nil)
		case 4: // the unauthenticated doors
			got = api.do("POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "fuzz-co", "key": s})
			require.Less(t, got.Status, 500, "key %q: %s", s, got.Raw)
			got = api.rawDo("GET", "/v1/tenants/"+url.PathEscape(s)+"/publicKeys", nil)
			require.Less(t, got.Status, 500, "tenant %q: %s", s, got.Raw)
			got = api.rawDo("POST", "/v1/auth:login", []byte(`{"tenant_id":"fuzz-co","username":"`+s+`","password":"x"}`))
		}
		require.Less(t, got.Status, 500, "case %d, input %q: %s", where%5, s, got.Raw)
	})
}

// TestOrderBusChecksStrings_Hardening8: orders arriving on NATS pass the same string
// rule as gRPC requests: a batch with a NUL is rejected at once, naming the field,
// instead of failing in Postgres on every redelivery; a tenant subject with a
// control character is rejected too.
func TestOrderBusChecksStrings_Hardening8(t *testing.T) {
	env := suitetest.Start(t)
	seed := env.SeedLineItem(t, "busstr-co", 1)
	nc, err := nats.Connect(env.Config.NATSURL)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	rejected := make(chan *nats.Msg, 10)
	_, err = nc.ChanSubscribe("tessera.orders.rejected.>", rejected)
	require.NoError(t, err)
	product, err := entitlementpb.NewCatalogServiceClient(env.Dial(t, "entitlement")).GetProduct(
		env.As(t, suitetest.Producer("busstr-co")), &entitlementpb.GetProductRequest{Name: "products/" + seed.ProductID})
	require.NoError(t, err)
	body, err := proto.Marshal(&entitlementpb.BatchCreateOrdersRequest{Orders: []*entitlementpb.CreateOrderRequest{{
		OrderId: "BUS-NUL", SoldTo: "accounts/" + seed.AccountID, Lines: []*entitlementpb.OrderLine{{
			LineNumber: "1", Product: product.GetName(), LicenseModel: product.GetLicenseModels()[0], Quantity: 1,
			Attributes: map[string]string{"colour": "re\x00d"},
		}},
	}}})
	require.NoError(t, err)
	answer := func() *eventspb.OrdersRejected {
		t.Helper()
		select {
		case m := <-rejected:
			var no eventspb.OrdersRejected
			require.NoError(t, proto.Unmarshal(m.Data, &no))
			return &no
		case <-time.After(10 * time.Second):
			t.Fatal("no rejection on the order bus")
			return nil
		}
	}

	m := nats.NewMsg("tessera.orders.in.busstr-co")
	m.Data = body
	m.Header.Set(nats.MsgIdHdr, "nul-1")
	require.NoError(t, nc.PublishMsg(m))
	no := answer()
	assert.Equal(t, "nul-1", no.GetBatchId())
	assert.Equal(t, "INVALID_ARGUMENT", no.GetCode())
	assert.Contains(t, no.GetFieldViolations(), `orders[0].lines[0].attributes["colour"]`)

	m = nats.NewMsg("tessera.orders.in.bus\x1bco")
	m.Data = body
	m.Header.Set(nats.MsgIdHdr, "esc-1")
	require.NoError(t, nc.PublishMsg(m))
	no = answer()
	assert.Equal(t, "esc-1", no.GetBatchId())
	assert.Contains(t, no.GetFieldViolations(), "subject")
}

// TestMalformedBearerTokenIsRefused_Hardening8: a bearer token that is not valid text
// (bytes HTTP lets through in a header, such as invalid UTF-8) is an unknown
// credential, 401, not a 500 from a request the gateway cannot encode.
func TestMalformedBearerTokenIsRefused_Hardening8(t *testing.T) {
	env := suitetest.Start(t)
	for _, token := range []string{"rna_\xff\xfe", "rna_\tx", strings.Repeat("x", 300)} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", env.Suite.GatewayURL+"/v1/accounts", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "token %q", token)
	}
}
