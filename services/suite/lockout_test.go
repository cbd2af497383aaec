package suite_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

func loginAttempt(api rest, tenant, user, password string) reply {
	return api.do("POST", "/v1/auth:login", map[string]any{"tenant_id": tenant, "username": user, "password": password})
}

// answer is what a caller sees of a reply: its status and body (headers carry times).
func answer(r reply) []any { return []any{r.Status, r.Body} }

func reason(r reply) string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["reason"].(string)
	return s
}

// TestLockout_ACC9: consecutive wrong passwords lock a non-shared user out; only an
// administrator reactivates it, by email and without changing the password.
func TestLockout_ACC9(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	op := api.as(env.OperatorToken)
	createTenant(op, "lock-co", "Admin-Password-1")
	createTenant(op, "rival-co", "Admin-Password-2")
	admin := api.as(login(api, "lock-co", "admin", "Admin-Password-1"))
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	users := map[string]string{}
	for _, u := range []struct {
		name   string
		role   string
		shared bool
	}{{"carol", "customer_user", false}, {"dave", "customer_user", false}, {"erin", "customer_user", true}, {"frank", "customer_admin", false}} {
		body := admin.ok("POST", "/v1/users", map[string]any{"password": "Right-Password-1", "user": map[string]any{
			"username": u.name, "first_name": u.name, "last_name": "X", "email": u.name + "@acme.example", "shared_login": u.shared,
			"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{u.role}}},
		}})
		users[u.name] = body["name"].(string)
	}
	carolSession := login(api, "lock-co", "carol", "Right-Password-1")
	api.as(carolSession).ok("GET", "/v1/accounts/ACME", nil) // now cached by the gateway

	// Four wrong, then right: the count starts over.
	for range 4 {
		require.Equal(t, "LOGIN_FAILED", reason(loginAttempt(api, "lock-co", "carol", "wrong")))
	}
	login(api, "lock-co", "carol", "Right-Password-1")
	for range 4 {
		require.Equal(t, "LOGIN_FAILED", reason(loginAttempt(api, "lock-co", "carol", "wrong")))
	}
	// The fifth consecutive wrong password locks carol out. Neither that answer nor a
	// locked user's, with the right password or a wrong one, differs from an unknown
	// user's: nobody learns that carol exists, is locked, or what her password is.
	unknown := loginAttempt(api, "lock-co", "nobody", "wrong")
	require.Equal(t, http.StatusUnauthorized, unknown.Status)
	require.Equal(t, "LOGIN_FAILED", reason(unknown))
	require.Equal(t, answer(unknown), answer(loginAttempt(api, "lock-co", "carol", "wrong")), "the lockout answer")
	require.Equal(t, answer(unknown), answer(loginAttempt(api, "lock-co", "carol", "Right-Password-1")), "the right password no longer helps, and says nothing")
	require.Equal(t, answer(unknown), answer(loginAttempt(api, "lock-co", "carol", "wrong")), "a wrong password reveals nothing")
	// The lockout revokes carol's sessions on the gateway through the token.revoked
	// event, well before the cache's TTL (5 s) would.
	require.Eventually(t, func() bool {
		return api.as(carolSession).do("GET", "/v1/accounts/ACME", nil).Status == http.StatusUnauthorized
	}, 2*time.Second, 20*time.Millisecond)
	require.NotNil(t, admin.ok("GET", "/v1/"+users["carol"], nil)["locked_time"])

	// Racing wrong passwords lock too; the count cannot slip past the limit.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { loginAttempt(api, "lock-co", "dave", "wrong") })
	}
	wg.Wait()
	require.Equal(t, answer(unknown), answer(loginAttempt(api, "lock-co", "dave", "Right-Password-1")))

	// A shared login is never locked out.
	for range 8 {
		require.Equal(t, "LOGIN_FAILED", reason(loginAttempt(api, "lock-co", "erin", "wrong")))
	}
	login(api, "lock-co", "erin", "Right-Password-1")

	// Reactivation: administrators only, not across tenants; the password stays.
	rival := api.as(login(api, "rival-co", "admin", "Admin-Password-2"))
	rival.refused(http.StatusNotFound, "POST", "/v1/"+users["carol"]+":reactivate", map[string]any{})
	erin := api.as(login(api, "lock-co", "erin", "Right-Password-1"))
	erin.refused(http.StatusForbidden, "POST", "/v1/"+users["carol"]+":reactivate", map[string]any{})
	frank := api.as(login(api, "lock-co", "frank", "Right-Password-1"))
	u := frank.ok("POST", "/v1/"+users["carol"]+":reactivate", map[string]any{})
	require.Equal(t, "USER_STATUS_ACTIVE", u["status"])
	require.Nil(t, u["locked_time"])
	login(api, "lock-co", "carol", "Right-Password-1")
	env.WaitForMail(t, "To: <carol@acme.example>", "reactivated")
	require.Equal(t, "LOGIN_FAILED", reason(loginAttempt(api, "lock-co", "carol", "wrong")), "the count started over")
}
