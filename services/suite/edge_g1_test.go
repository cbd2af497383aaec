package suite_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// endless yields a JSON string's content for ever (a body no client should send).
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// Issue g1, item 2: a sign-in body over the sign-in limit answers 413 with
// REQUEST_TOO_LARGE, declared or chunked; it is never cut off and passed on as a
// truncated body (which answered 400 "not valid JSON").
func TestSignInBodyLimit_G1(t *testing.T) {
	env := suitetest.Start(t)
	env.SeedLineItem(t, "signin-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}

	padded := api.do("POST", "/v1/auth:login", map[string]any{
		"tenant_id": "signin-co", "username": "admin", "password": strings.Repeat("p", 66<<10),
	})
	require.Equal(t, http.StatusRequestEntityTooLarge, padded.Status, "%s", padded.Raw)
	require.Equal(t, "REQUEST_TOO_LARGE", reason(padded))

	// 150 MB chunked, generated as it is sent: refused at the limit, not read to the end.
	req, err := http.NewRequestWithContext(t.Context(), "POST", env.Suite.GatewayURL+"/v1/auth:login",
		io.MultiReader(strings.NewReader(`{"tenant_id":"signin-co","username":"`), io.LimitReader(endless{}, 150<<20)))
	require.NoError(t, err)
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var body struct{ Error map[string]any }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	_ = resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Equal(t, "REQUEST_TOO_LARGE", body.Error["reason"])

	login(api, "signin-co", "admin", "Admin-Password-1") // a normal body still passes whole
}

// Issue g1, item 3: the per-user sign-in budget is one, however the body spells the
// tenant field (protojson takes tenant_id and tenantId alike).
func TestLoginLimitOneBucketPerUser_G1(t *testing.T) {
	env := suitetest.Start(t, func(c *suite.Config) { c.LoginPerMinutePerUser, c.LoginPerMinutePerIP = 10, 100 })
	env.SeedLineItem(t, "bucket-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}
	for range 10 {
		require.Equal(t, http.StatusUnauthorized, api.do("POST", "/v1/auth:login",
			map[string]any{"tenant_id": "bucket-co", "username": "nobody", "password": "wrong"}).Status)
	}
	camel := api.do("POST", "/v1/auth:login", map[string]any{"tenantId": "bucket-co", "username": "Nobody", "password": "wrong"})
	require.Equal(t, http.StatusTooManyRequests, camel.Status, "%s", camel.Raw)
	require.Equal(t, "RATE_LIMITED", reason(camel))
}

// Issue g1, item 4: wrong-type query parameters and body fields answer 400
// INVALID_ARGUMENT with a reason and a field violation naming the parameter or the
// field's full path, and change nothing.
func TestDecodingErrorsNameTheField_G1(t *testing.T) {
	env := suitetest.Start(t)
	seed := env.SeedLineItem(t, "names-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}
	admin := api.as(login(api, seed.Tenant, "admin", "Admin-Password-1"))
	entitlements := func() int { return len(admin.ok("GET", "/v1/entitlements", nil)["entitlements"].([]any)) }
	before := entitlements()

	check := func(e map[string]any, field, why string) {
		t.Helper()
		require.Equal(t, "INVALID_ARGUMENT", e["status"], why)
		require.Equal(t, "INVALID_FIELD", e["reason"], why)
		violations, _ := e["field_violations"].([]any)
		require.Len(t, violations, 1, why)
		require.Equal(t, field, violations[0].(map[string]any)["field"], why)
		require.NotContains(t, e["message"], "strconv", why)
		require.NotContains(t, e["message"], "proto:", why)
	}
	check(admin.refused(http.StatusBadRequest, "GET", "/v1/accounts?page_size=abc", nil), "page_size", "int query parameter")
	check(admin.refused(http.StatusBadRequest, "GET", "/v1/fulfillments?view=FULL", nil), "view", "enum query parameter")

	order := func(lines any) map[string]any {
		return admin.refused(http.StatusBadRequest, "POST", "/v1/orders", map[string]any{"order_id": "ORD-G1", "lines": lines})
	}
	check(order([]any{map[string]any{"type": "NOPE"}}), "lines[0].type", "enum in a list")
	check(order([]any{map[string]any{"attributes": map[string]any{"a": 1}}}), "lines[0].attributes", "map value")
	check(order(map[string]any{"product": "x"}), "lines", "object for a list")
	check(admin.refused(http.StatusBadRequest, "PATCH", "/v1/accounts/"+seed.AccountID,
		map[string]any{"account": map[string]any{"display_name": "x"}, "update_mask": map[string]any{"paths": []string{"display_name"}}}),
		"update_mask", "object for a field mask")

	notJSON := api.rawDo("POST", "/v1/auth:login", []byte(`{"username":`))
	require.Equal(t, http.StatusBadRequest, notJSON.Status, "%s", notJSON.Raw)
	require.NoError(t, json.Unmarshal(notJSON.Raw, &notJSON.Body))
	require.Equal(t, "INVALID_JSON", reason(notJSON), "%s", notJSON.Raw)

	require.Equal(t, before, entitlements(), "no refused order was made")
	require.NotEqual(t, "x", admin.ok("GET", "/v1/accounts/"+seed.AccountID, nil)["display_name"], "nor the account changed")
}

// Issue g1, item 5: a 405 names in Allow the methods the path really serves, and its
// body says METHOD_NOT_ALLOWED.
func TestMethodNotAllowedAllow_G1(t *testing.T) {
	env := suitetest.Start(t)
	seed := env.SeedLineItem(t, "allow-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/v1/auth:login", "POST"},
		{"DELETE", "/v1/auth:login", "POST"},
		{"PUT", "/v1/accounts/" + seed.AccountID, "GET, PATCH, DELETE"},
		{"POST", "/v1/lineItems/" + seed.ActivationID, "GET"},
		{"TRACE", "/v1/accounts", "GET, POST"},
	} {
		got := api.do(c.method, c.path, nil)
		require.Equal(t, http.StatusMethodNotAllowed, got.Status, "%s %s: %s", c.method, c.path, got.Raw)
		require.Equal(t, c.allow, got.Header.Get("Allow"), "%s %s", c.method, c.path)
		e := got.Body["error"].(map[string]any)
		require.Equal(t, "METHOD_NOT_ALLOWED", e["status"])
		require.Equal(t, "METHOD_NOT_ALLOWED", e["reason"])
		require.EqualValues(t, 405, e["code"])
	}
}
