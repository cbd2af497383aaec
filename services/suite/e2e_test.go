package suite_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// rest is a tiny JSON client of the gateway.
type rest struct {
	t     *testing.T
	base  string
	token string
}

type reply struct {
	Status int
	Body   map[string]any
	Raw    []byte
	Header http.Header
}

func (r rest) as(token string) rest { r.token = token; return r }

func (r rest) do(method, path string, body any, header ...string) reply {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(r.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.t.Context(), method, r.base+path, rd)
	require.NoError(r.t, err)
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(r.t, err)
	out := reply{Status: resp.StatusCode, Raw: raw, Header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(r.t, json.Unmarshal(raw, &out.Body), "body: %s", raw)
	}
	return out
}

func (r rest) ok(method, path string, body any) map[string]any {
	r.t.Helper()
	got := r.do(method, path, body)
	require.Equal(r.t, http.StatusOK, got.Status, "%s %s: %s", method, path, got.Raw)
	return got.Body
}

// refused asserts an error status and returns the error object.
func (r rest) refused(status int, method, path string, body any) map[string]any {
	r.t.Helper()
	got := r.do(method, path, body)
	require.Equal(r.t, status, got.Status, "%s %s: %s", method, path, got.Raw)
	e, ok := got.Body["error"].(map[string]any)
	require.True(r.t, ok, "error body: %s", got.Raw)
	return e
}

func fieldViolations(e map[string]any) []string {
	var out []string
	list, _ := e["field_violations"].([]any)
	for _, v := range list {
		out = append(out, v.(map[string]any)["field"].(string))
	}
	return out
}

func login(api rest, tenant, user, password string) string {
	api.t.Helper()
	body := api.ok("POST", "/v1/auth:login", map[string]any{"tenant_id": tenant, "username": user, "password": password})
	token, _ := body["access_token"].(string)
	require.True(api.t, strings.HasPrefix(token, "rna_"))
	return token
}

func num(v any) int64 {
	var n int64
	_, _ = fmt.Sscan(fmt.Sprint(v), &n)
	return n
}

// TestGoldenPath drives the walking skeleton through the REST gateway as a client
// would, across every service, Postgres, JetStream and SMTP.
func TestGoldenPath(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}

	// account: bootstrap tenants (operator only), log in, create an account and users.
	op := api.as(env.OperatorToken)
	createTenant(op, "acme-soft", "Admin-Password-1")
	createTenant(op, "rival", "Admin-Password-2")
	admin := api.as(login(api, "acme-soft", "admin", "Admin-Password-1"))
	rivalAdmin := api.as(login(api, "rival", "admin", "Admin-Password-2"))
	admin.refused(http.StatusForbidden, "POST", "/v1/tenants", map[string]any{"tenant_id": "nope", "display_name": "x", "admin_username": "admin", "admin_email": "a@b.example"})

	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "CUST-1", "account": map[string]any{"display_name": "Customer One", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "CUST-2", "account": map[string]any{"display_name": "Customer Two", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	admin.ok("POST", "/v1/users", map[string]any{"password": "Alice-Password-1", "user": map[string]any{
		"username": "alice", "first_name": "Alice", "last_name": "Liddell", "email": "alice@cust1.example",
		"memberships": []any{map[string]any{"account": "accounts/CUST-1", "roles": []string{"customer_admin"}}},
	}})
	admin.ok("POST", "/v1/users", map[string]any{"password": "Bob-Password-1", "user": map[string]any{
		"username": "bob", "first_name": "Bob", "last_name": "Builder", "email": "bob@cust2.example",
		"memberships": []any{map[string]any{"account": "accounts/CUST-2", "roles": []string{"customer_admin"}}},
	}})
	alice := api.as(login(api, "acme-soft", "alice", "Alice-Password-1"))
	bob := api.as(login(api, "acme-soft", "bob", "Bob-Password-1"))

	// entitlement: a product with one feature under a floating-counted model; an order.
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "floating", "license_model": map[string]any{"display_name": "Floating", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "cad", "product": map[string]any{
		"display_name": "CAD Pro", "version": "2.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "cad_pro", "version": "2.0"}}, "license_models": []string{"licenseModels/floating"},
	}})
	order := map[string]any{"order_id": "SO-1", "sold_to": "accounts/CUST-1", "lines": []any{map[string]any{"line_number": "1", "product": "products/cad", "license_model": "licenseModels/floating", "quantity": 10}}}
	ent := admin.ok("POST", "/v1/orders", order)
	again := admin.ok("POST", "/v1/orders", order)
	require.Equal(t, ent["entitlement_id"], again["entitlement_id"], "a resent order returns the same entitlement")
	li := ent["line_items"].([]any)[0].(map[string]any)
	act := li["activation_id"].(string)
	require.EqualValues(t, "10", li["quantity"])
	lineItem := "/v1/lineItems/" + act

	// license: activate 3 seats for HOSTNAME=dogma; the license is signed by the tenant.
	activate := map[string]any{"host_id": "HOSTNAME=dogma", "quantity": 3, "request_id": "activation-1"}
	ful := alice.ok("POST", lineItem+":activate", activate)
	text := ful["license_text"].(string)
	require.Contains(t, text, "SERVER dogma HOSTNAME=dogma")
	require.Contains(t, text, "VENDOR acme_soft")
	require.Contains(t, text, "INCREMENT cad_pro acme_soft 2.0 permanent 3")
	require.Contains(t, text, "SIGN=")
	retry := alice.ok("POST", lineItem+":activate", activate)
	require.Equal(t, ful["fulfillment_id"], retry["fulfillment_id"], "a retried activation returns the first fulfillment")
	require.EqualValues(t, 7, num(alice.ok("GET", lineItem, nil)["available"]))

	keys := keysOf(t, admin.ok("GET", "/v1/signingKeys", nil))
	verified, err := licfile.Verify(text, keys)
	require.NoError(t, err, "the license verifies with the tenant's public key")
	require.Equal(t, "cad_pro", verified[0].Name)
	rivalKeys := keysOf(t, rivalAdmin.ok("GET", "/v1/signingKeys", nil))
	_, err = licfile.Verify(text, rivalKeys)
	require.ErrorIs(t, err, licfile.ErrSignature, "another tenant's keys do not verify it")

	// device: a standalone device holding 2 seats.
	alice.ok("POST", "/v1/devices", map[string]any{"device_id": "edge-1", "device": map[string]any{"account": "accounts/CUST-1", "display_name": "Edge 1", "type": "DEVICE_TYPE_STANDALONE"}})
	dev := alice.ok("POST", "/v1/devices/edge-1:mapLineItem", map[string]any{"line_item": "lineItems/" + act, "quantity": 2, "request_id": "map-1"})
	require.EqualValues(t, 2, num(dev["line_items"].([]any)[0].(map[string]any)["quantity"]))
	alice.ok("POST", "/v1/devices/edge-1:mapLineItem", map[string]any{"line_item": "lineItems/" + act, "quantity": 2, "request_id": "map-1"})
	require.EqualValues(t, 5, num(alice.ok("GET", lineItem, nil)["available"]))

	// download: a package with one file; the entitled user gets it byte-exact.
	content := make([]byte, 300_000)
	_, _ = rand.Read(content)
	sum := sha256.Sum256(content)
	admin.ok("POST", "/v1/packages", map[string]any{"package_id": "cad-2.0", "package": map[string]any{"display_name": "CAD Pro 2.0", "product": "products/cad"}})
	file := admin.ok("POST", "/v1/packages/cad-2.0/files", map[string]any{"filename": "cad-2.0.tar.gz", "content": content})
	require.Equal(t, hex.EncodeToString(sum[:]), file["sha256"])
	dl := "/v1/" + file["name"].(string) + ":download"
	got := alice.do("GET", dl, nil)
	require.Equal(t, http.StatusOK, got.Status)
	gotSum := sha256.Sum256(got.Raw)
	require.Equal(t, sum, gotSum, "the download is byte-exact")
	require.Equal(t, `"`+hex.EncodeToString(sum[:])+`"`, got.Header.Get("ETag"))
	part := alice.do("GET", dl, nil, "Range", "bytes=1000-1999")
	require.Equal(t, http.StatusPartialContent, part.Status)
	require.Equal(t, "bytes 1000-1999/300000", part.Header.Get("Content-Range"))
	require.Equal(t, content[1000:2000], part.Raw)
	tail := alice.do("GET", dl, nil, "Range", "bytes=299990-")
	require.Equal(t, content[299990:], tail.Raw)
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, alice.do("GET", dl, nil, "Range", "bytes=400000-").Status)
	e := bob.refused(http.StatusForbidden, "GET", dl, nil)
	require.Equal(t, "NOT_ENTITLED", e["reason"], "a user of an account without the entitlement is refused")

	// events: fulfillment.created → outbox → JetStream → notifier → SMTP, license attached.
	msg := env.WaitForMail(t, "To: <alice@cust1.example>", "LicenseFile.lic")
	require.Equal(t, text, attachment(t, msg, "LicenseFile.lic"))
	requireOneTrace(t, "POST /v1/lineItems/"+act+":activate", "consume tessera.license.fulfillment.created")

	// refusals: bad input, unknown ID, missing permission, other tenant, no credentials.
	e = alice.refused(http.StatusBadRequest, "POST", lineItem+":activate", map[string]any{"host_id": "dogma", "quantity": 1})
	require.Equal(t, "HOST_ID_INVALID", e["reason"])
	require.Equal(t, []string{"host_id"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/orders", map[string]any{"order_id": "SO-2", "sold_to": "accounts/CUST-1", "lines": []any{map[string]any{"line_number": "1", "product": "products/cad", "license_model": "licenseModels/floating", "quantity": -1}}})
	require.Equal(t, []string{"lines[0].quantity"}, fieldViolations(e))
	e = alice.refused(http.StatusConflict, "POST", lineItem+":activate", map[string]any{"host_id": "HOSTNAME=big", "quantity": 6})
	require.Equal(t, "QUANTITY_EXCEEDED", e["reason"])
	require.EqualValues(t, 5, num(alice.ok("GET", lineItem, nil)["available"]), "a refused activation changes nothing")
	alice.refused(http.StatusNotFound, "GET", "/v1/lineItems/ACT-NOPE", nil)
	alice.refused(http.StatusNotFound, "GET", "/v1/fulfillments/FUL-NOPE", nil)
	e = alice.refused(http.StatusForbidden, "POST", "/v1/products", map[string]any{"product": map[string]any{"display_name": "x"}})
	require.Equal(t, "PERMISSION_DENIED", e["reason"])
	rivalAdmin.refused(http.StatusNotFound, "GET", lineItem, nil)
	rivalAdmin.refused(http.StatusNotFound, "GET", "/v1/"+ful["name"].(string), nil)
	rivalAdmin.refused(http.StatusNotFound, "GET", "/v1/accounts/CUST-1", nil)
	rivalAdmin.refused(http.StatusNotFound, "POST", lineItem+":activate", map[string]any{"host_id": "HOSTNAME=x", "quantity": 1})
	bob.refused(http.StatusNotFound, "GET", lineItem, nil)
	bob.refused(http.StatusNotFound, "POST", lineItem+":activate", map[string]any{"host_id": "HOSTNAME=x", "quantity": 1})
	api.refused(http.StatusUnauthorized, "GET", lineItem, nil)
	api.as("rna_00").refused(http.StatusUnauthorized, "GET", lineItem, nil)
	require.EqualValues(t, 5, num(admin.ok("GET", lineItem, nil)["available"]))

	// The edge serves health, readiness, metrics and the OpenAPI document.
	for _, path := range []string{"/healthz", "/readyz", "/openapi.json"} {
		require.Equal(t, http.StatusOK, api.do("GET", path, nil).Status, path)
	}
	require.Contains(t, string(api.do("GET", "/openapi.json", nil).Raw), "/v1/{line_item}:activate")
	metrics := string(api.do("GET", "/metrics", nil).Raw)
	for _, want := range []string{
		"tessera_license_activations_total", "tessera_entitlement_seats_reserved_total",
		`rpc_server_call_duration_seconds_count{`, `rpc_method="tessera.license.v1.LicenseService/ActivateLineItem"`,
	} {
		require.True(t, strings.Contains(metrics, want), "/metrics lacks %s", want) //nolint:testifylint // the body is too long to print
	}
}

// attachment returns the named attachment of a raw email.
func attachment(t *testing.T, raw, name string) string {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		require.NoError(t, err, "attachment %s not found", name)
		if p.FileName() == name {
			b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
			require.NoError(t, err)
			return string(b)
		}
	}
}

// requireOneTrace asserts that a span named first and a span named then share a trace:
// the trace crossed gateway → services → outbox → JetStream → consumer.
func requireOneTrace(t *testing.T, first, then string) {
	t.Helper()
	require.Eventually(t, func() bool {
		traces := map[string]bool{}
		for _, s := range suitetest.Spans.GetSpans() {
			if s.Name == first {
				traces[s.SpanContext.TraceID().String()] = true
			}
		}
		for _, s := range suitetest.Spans.GetSpans() {
			if s.Name == then && traces[s.SpanContext.TraceID().String()] {
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond, "no trace holds both %q and %q", first, then)
}

// createTenant makes a tenant with an "admin" user through the operator's session.
func createTenant(op rest, tenant, adminPassword string) {
	op.t.Helper()
	op.ok("POST", "/v1/tenants", map[string]any{
		"tenant_id": tenant, "display_name": tenant, "admin_username": "admin",
		"admin_email": "admin@" + tenant + ".example", "admin_password": adminPassword,
	})
}
