package suite_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/platform/pg"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestAccessTokens_ACC17 covers named access tokens end to end through the gateway:
// creation, validation, use, edit, rotation, deletion, expiry and impersonation.
func TestAccessTokens_ACC17(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	op := api.as(env.OperatorToken)
	createTenant(op, "tok-co", "Admin-Password-1")
	createTenant(op, "other-co", "Admin-Password-2")
	admin := api.as(login(api, "tok-co", "admin", "Admin-Password-1"))
	otherAdmin := api.as(login(api, "other-co", "admin", "Admin-Password-2"))
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	for _, u := range []struct{ name, role string }{{"alice", "customer_admin"}, {"bob", "customer_user"}} {
		admin.ok("POST", "/v1/users", map[string]any{"password": "User-Password-1", "user": map[string]any{
			"username": u.name, "first_name": u.name, "last_name": "X", "email": u.name + "@acme.example",
			"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{u.role}}},
		}})
	}
	alice := api.as(login(api, "tok-co", "alice", "User-Password-1"))
	bob := api.as(login(api, "tok-co", "bob", "User-Password-1"))

	// Create: the value is rna_ + hex, shown once, and works as a bearer token.
	created := alice.ok("POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "ci-pipeline", "description": "builds"}, "expires_in": "30d"})
	value := created["token_value"].(string)
	require.Regexp(t, `^rna_[0-9a-f]{48}$`, value)
	tok := created["access_token"].(map[string]any)
	require.Equal(t, "ACCESS_TOKEN_TYPE_NORMAL", tok["type"])
	require.Equal(t, tok["created_by"], tok["created_for"])
	name := "/v1/" + tok["name"].(string)
	got := alice.ok("GET", name, nil)
	require.NotContains(t, got, "token_value", "the value is never shown again")
	exp, err := time.Parse(time.RFC3339Nano, tok["expire_time"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, exp, time.Now().AddDate(0, 0, 30), time.Minute)
	viaToken := api.as(value)
	viaToken.ok("GET", "/v1/accounts/ACME", nil)

	// A retried create (same request_id) lands on the same token with a fresh value.
	first := alice.ok("POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "retried-one"}, "expires_in": "1d", "request_id": "r1"})
	second := alice.ok("POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "retried-one"}, "expires_in": "1d", "request_id": "r1"})
	require.Equal(t, first["access_token"].(map[string]any)["token_id"], second["access_token"].(map[string]any)["token_id"])
	api.as(first["token_value"].(string)).refused(http.StatusUnauthorized, "GET", "/v1/accounts/ACME", nil)
	api.as(second["token_value"].(string)).ok("GET", "/v1/accounts/ACME", nil)
	alice.ok("DELETE", "/v1/"+second["access_token"].(map[string]any)["name"].(string), nil)

	// Validation: names and lifetimes.
	for _, bad := range []string{"abcd", "bad*name", "a<b>cdef", "dots.are.out", "pipe|name", "back\\slash", "&lt;script&gt;", strings.Repeat("x", 26), " padded ", "percent%x"} {
		e := alice.refused(http.StatusBadRequest, "POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": bad}, "expires_in": "1d"})
		require.Equal(t, []string{"access_token.display_name"}, fieldViolations(e), bad)
	}
	for _, bad := range []string{"", "0m", "1d 1d", "3y", "30s", "1.5h", "-5m"} {
		e := alice.refused(http.StatusBadRequest, "POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "valid-name"}, "expires_in": bad})
		require.Equal(t, "EXPIRY_INVALID", e["reason"], bad)
		require.Equal(t, []string{"expires_in"}, fieldViolations(e), bad)
	}

	// Edit: name, description, expiry; unknown paths refused.
	upd := alice.ok("PATCH", name, map[string]any{"access_token": map[string]any{"display_name": "ci-renamed", "description": "nightly"}, "expires_in": "1Y 2M", "update_mask": "displayName,description,expiresIn"})
	require.Equal(t, "ci-renamed", upd["display_name"])
	newExp, _ := time.Parse(time.RFC3339Nano, upd["expire_time"].(string))
	require.WithinDuration(t, newExp, time.Now().AddDate(1, 2, 0), time.Minute)
	e := alice.refused(http.StatusBadRequest, "PATCH", name, map[string]any{"access_token": map[string]any{"type": "ACCESS_TOKEN_TYPE_IMPERSONATED"}, "update_mask": "type"})
	require.Equal(t, []string{"update_mask"}, fieldViolations(e))

	// Rotate: a new value, the same expiry; the old value stops working at once.
	rot := alice.ok("POST", name+":rotate", map[string]any{})
	newValue := rot["token_value"].(string)
	require.NotEqual(t, value, newValue)
	require.Equal(t, upd["expire_time"], rot["access_token"].(map[string]any)["expire_time"])
	viaToken.refused(http.StatusUnauthorized, "GET", "/v1/accounts/ACME", nil)
	api.as(newValue).ok("GET", "/v1/accounts/ACME", nil)

	// Other tenants and other users see nothing of it.
	otherAdmin.refused(http.StatusNotFound, "GET", name, nil)
	otherAdmin.refused(http.StatusNotFound, "DELETE", name, nil)
	bob.refused(http.StatusNotFound, "GET", name, nil)
	bob.refused(http.StatusNotFound, "POST", name+":rotate", map[string]any{})

	// Delete: the value stops working at once.
	alice.ok("DELETE", name, nil)
	api.as(newValue).refused(http.StatusUnauthorized, "GET", "/v1/accounts/ACME", nil)
	alice.refused(http.StatusNotFound, "GET", name, nil)

	// Expired tokens are refused everywhere and cannot be edited or rotated.
	short := alice.ok("POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "short-lived"}, "expires_in": "1m"})
	shortName := "/v1/" + short["access_token"].(map[string]any)["name"].(string)
	pool, err := pg.Connect(t.Context(), env.DatabaseURL, "account", 1)
	require.NoError(t, err)
	defer pool.Close()
	_, err = pool.Exec(t.Context(), `UPDATE access_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, short["access_token"].(map[string]any)["token_id"])
	require.NoError(t, err)
	e = api.as(short["token_value"].(string)).refused(http.StatusUnauthorized, "GET", "/v1/accounts/ACME", nil)
	require.Equal(t, "TOKEN_EXPIRED", e["reason"])
	require.Equal(t, true, alice.ok("GET", shortName, nil)["expired"])
	e = alice.refused(http.StatusConflict, "PATCH", shortName, map[string]any{"access_token": map[string]any{"description": "x"}, "update_mask": "description"})
	require.Equal(t, "TOKEN_EXPIRED", e["reason"])
	alice.refused(http.StatusConflict, "POST", shortName+":rotate", map[string]any{})

	// Impersonation needs "create impersonated token" and a manage-users permission.
	bobUser := userOf(t, api, "tok-co", "bob", "User-Password-1")
	e = alice.refused(http.StatusForbidden, "POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "as-bob-token", "created_for": bobUser}, "expires_in": "1h"})
	require.Equal(t, "PERMISSION_DENIED", e["reason"])
	imp := admin.ok("POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "support-as-bob", "description": "ticket 4711", "created_for": bobUser}, "expires_in": "2h"})
	impTok := imp["access_token"].(map[string]any)
	require.Equal(t, "ACCESS_TOKEN_TYPE_IMPERSONATED", impTok["type"])
	require.Equal(t, bobUser, impTok["created_for"])
	require.NotEqual(t, impTok["created_by"], impTok["created_for"])
	asBob := api.as(imp["token_value"].(string))
	asBob.ok("GET", "/v1/accounts/ACME", nil)
	asBob.refused(http.StatusForbidden, "POST", "/v1/products", map[string]any{"product": map[string]any{"display_name": "x"}})
	e = asBob.refused(http.StatusForbidden, "POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "escalate-me"}, "expires_in": "1d"})
	require.Equal(t, "IMPERSONATED", e["reason"], "an impersonated principal cannot mint tokens")

	// Lists: NORMAL by default, IMPERSONATED on request; users see only their own.
	normal := admin.ok("GET", "/v1/accessTokens", nil)["access_tokens"].([]any)
	require.Len(t, normal, 1, "a tenant-wide privileged user manages every NORMAL token: alice's")
	require.Equal(t, "short-lived", normal[0].(map[string]any)["display_name"])
	list := admin.ok("GET", "/v1/accessTokens?filter=type%20%3D%20IMPERSONATED", nil)["access_tokens"].([]any)
	require.Len(t, list, 1)
	require.Len(t, alice.ok("GET", "/v1/accessTokens", nil)["access_tokens"].([]any), 1, "alice's expired token is still listed")
	require.Empty(t, bob.ok("GET", "/v1/accessTokens?filter=type%20%3D%20ALL", nil)["access_tokens"], "bob does not see the token that impersonates him")
	alice.refused(http.StatusBadRequest, "GET", "/v1/accessTokens?filter=owner%3Dme", nil)
	admin.ok("DELETE", "/v1/"+impTok["name"].(string), nil)
	asBob.refused(http.StatusUnauthorized, "GET", "/v1/accounts/ACME", nil)
}

// userOf returns users/{id} of a signed-in user name.
func userOf(t *testing.T, api rest, tenant, username, password string) string {
	t.Helper()
	body := api.ok("POST", "/v1/auth:login", map[string]any{"tenant_id": tenant, "username": username, "password": password})
	return body["user"].(map[string]any)["name"].(string)
}
