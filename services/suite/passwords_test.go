package suite_test

import (
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

var temporaryPassword = regexp.MustCompile(`Temporary password: (\S+)`)

// mailedPassword waits for a new email (after the first `after` ones) to the address
// and returns the temporary password in it.
func mailedPassword(t *testing.T, env *suitetest.Env, to string, after int) string {
	t.Helper()
	var found string
	require.Eventually(t, func() bool {
		files, _ := env.Mailbox.Files()
		for _, f := range files[min(after, len(files)):] {
			b, err := os.ReadFile(f) //nolint:gosec // a file of the test mailbox
			if err != nil || !strings.Contains(string(b), "To: <"+to+">") {
				continue
			}
			if m := temporaryPassword.FindStringSubmatch(string(b)); m != nil {
				found = m[1]
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	return found
}

func mailCount(t *testing.T, env *suitetest.Env) int {
	files, err := env.Mailbox.Files()
	require.NoError(t, err)
	return len(files)
}

// TestPasswords_ACC8: temporary passwords by email with a forced change, changing a
// password, secret questions and self-service resets, and administrator resets.
func TestPasswords_ACC8(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	op := api.as(env.OperatorToken)
	createTenant(op, "pw-co", "Admin-Password-1")
	createTenant(op, "pw-rival", "Admin-Password-2")
	admin := api.as(login(api, "pw-co", "admin", "Admin-Password-1"))
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})

	// A user created without a password gets a temporary one by email.
	before := mailCount(t, env)
	gina := admin.ok("POST", "/v1/users", map[string]any{"user": map[string]any{
		"username": "gina", "first_name": "Gina", "last_name": "G", "email": "gina@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	require.Equal(t, true, gina["password_change_required"])
	temp := mailedPassword(t, env, "gina@acme.example", before)

	// Signing in with it opens a session that may only change the password.
	resp := api.ok("POST", "/v1/auth:login", map[string]any{"tenant_id": "pw-co", "username": "gina", "password": temp})
	require.Equal(t, true, resp["password_change_required"])
	session := api.as(resp["access_token"].(string))
	e := session.refused(http.StatusForbidden, "GET", "/v1/accounts/ACME", nil)
	require.Equal(t, "PERMISSION_DENIED", e["reason"])
	e = session.refused(http.StatusBadRequest, "POST", "/v1/auth:changePassword", map[string]any{"old_password": "nope", "new_password": "Gina-Password-1", "confirm_password": "Gina-Password-1"})
	require.Equal(t, "PASSWORD_WRONG", e["reason"])
	e = session.refused(http.StatusBadRequest, "POST", "/v1/auth:changePassword", map[string]any{"old_password": temp, "new_password": "Gina-Password-1", "confirm_password": "Gina-Password-2"})
	require.Equal(t, []string{"confirm_password"}, fieldViolations(e))
	e = session.refused(http.StatusBadRequest, "POST", "/v1/auth:changePassword", map[string]any{"old_password": temp, "new_password": "short", "confirm_password": "short"})
	require.Equal(t, []string{"new_password"}, fieldViolations(e))
	session.ok("POST", "/v1/auth:changePassword", map[string]any{"old_password": temp, "new_password": "Gina-Password-1", "confirm_password": "Gina-Password-1"})
	require.Eventually(t, func() bool { return session.do("GET", "/v1/accounts/ACME", nil).Status == http.StatusOK },
		2*time.Second, 20*time.Millisecond, "after the change the same session has its full rights")
	require.Equal(t, "LOGIN_FAILED", reason(loginAttempt(api, "pw-co", "gina", temp)), "the temporary password is gone")
	ginaSession := api.as(login(api, "pw-co", "gina", "Gina-Password-1"))

	// Secret question and self-service reset.
	e = ginaSession.refused(http.StatusBadRequest, "POST", "/v1/auth:setSecretQuestion", map[string]any{"question": "First pet?", "answer": "Rex the Dog", "password": "wrong"})
	require.Equal(t, "PASSWORD_WRONG", e["reason"])
	ginaSession.ok("POST", "/v1/auth:setSecretQuestion", map[string]any{"question": "First pet?", "answer": "Rex the Dog", "password": "Gina-Password-1"})
	require.Equal(t, "First pet?", admin.ok("GET", "/v1/"+gina["name"].(string), nil)["secret_question"])
	e = api.refused(http.StatusUnauthorized, "POST", "/v1/auth:resetPassword", map[string]any{"tenant_id": "pw-co", "username": "gina", "secret_answer": "Fido"})
	require.Equal(t, "RESET_FAILED", e["reason"])
	before = mailCount(t, env)
	api.ok("POST", "/v1/auth:resetPassword", map[string]any{"tenant_id": "pw-co", "username": "gina", "secret_answer": "  rex THE   dog "})
	temp2 := mailedPassword(t, env, "gina@acme.example", before)
	require.Equal(t, "LOGIN_FAILED", reason(loginAttempt(api, "pw-co", "gina", "Gina-Password-1")), "the old password is gone")
	require.Equal(t, true, api.ok("POST", "/v1/auth:login", map[string]any{"tenant_id": "pw-co", "username": "gina", "password": temp2})["password_change_required"])

	// Without a secret answer, or for nobody at all, the refusal is the same.
	admin.ok("POST", "/v1/users", map[string]any{"password": "Hank-Password-1", "user": map[string]any{
		"username": "hank", "first_name": "Hank", "last_name": "H", "email": "hank@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_user"}}},
	}})
	for _, who := range []string{"hank", "nobody"} {
		e = api.refused(http.StatusUnauthorized, "POST", "/v1/auth:resetPassword", map[string]any{"tenant_id": "pw-co", "username": who, "secret_answer": "anything"})
		require.Equal(t, "RESET_FAILED", e["reason"], who)
	}
	e = api.refused(http.StatusBadRequest, "POST", "/v1/auth:resetPassword", map[string]any{"tenant_id": "pw-co", "username": "hank"})
	require.Equal(t, []string{"secret_answer"}, fieldViolations(e))

	// Administrator resets: users.manage over the user's accounts, same tenant only.
	hank := api.as(login(api, "pw-co", "hank", "Hank-Password-1"))
	hank.refused(http.StatusForbidden, "POST", "/v1/"+gina["name"].(string)+":resetPassword", map[string]any{})
	rival := api.as(login(api, "pw-rival", "admin", "Admin-Password-2"))
	rival.refused(http.StatusNotFound, "POST", "/v1/"+gina["name"].(string)+":resetPassword", map[string]any{})
	before = mailCount(t, env)
	u := admin.ok("POST", "/v1/"+gina["name"].(string)+":resetPassword", map[string]any{})
	require.Equal(t, true, u["password_change_required"])
	temp3 := mailedPassword(t, env, "gina@acme.example", before)
	require.NotEqual(t, temp2, temp3)
	require.Equal(t, http.StatusOK, loginAttempt(api, "pw-co", "gina", temp3).Status)
}
