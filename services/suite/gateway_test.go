package suite_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/gateway"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/suite"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// GW-2: a token deleted through one gateway stops working on another gateway within
// moments (the token.revoked event), long before that gateway's cache would expire.
func TestRevocationReachesEveryGateway_GW2(t *testing.T) {
	env := suitetest.Start(t)
	_, js, err := events.Connect(t.Context(), env.Config.NATSURL, "second-gateway")
	require.NoError(t, err)
	a := env.Suite.Addrs
	second, err := gateway.New(t.Context(), gateway.Config{
		Targets:      gateway.Targets{Account: a["account"], Entitlement: a["entitlement"], License: a["license"], Device: a["device"], Download: a["download"]},
		AuthCacheTTL: time.Minute, Events: js,
	}, env.Suite.Signer, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = second.Close() })
	srv := httptest.NewServer(second)
	t.Cleanup(srv.Close)

	env.SeedLineItem(t, "gw-co", 1)
	one := rest{t: t, base: env.Suite.GatewayURL}
	two := rest{t: t, base: srv.URL}
	admin := one.as(login(one, "gw-co", "admin", "Admin-Password-1"))
	created := admin.ok("POST", "/v1/accessTokens", map[string]any{"access_token": map[string]any{"display_name": "shared-token"}, "expires_in": "1d"})
	value := created["token_value"].(string)
	two.as(value).ok("GET", "/v1/accounts/HOME", nil) // cached on the second gateway for a minute
	time.Sleep(100 * time.Millisecond)                // the second gateway follows events from now on

	admin.ok("DELETE", "/v1/"+created["access_token"].(map[string]any)["name"].(string), nil)
	one.as(value).refused(http.StatusUnauthorized, "GET", "/v1/accounts/HOME", nil)
	require.Eventually(t, func() bool {
		return two.as(value).do("GET", "/v1/accounts/HOME", nil).Status == http.StatusUnauthorized
	}, 3*time.Second, 20*time.Millisecond, "the second gateway still trusts a deleted token")
}

// GW-2: sign-in attempts are limited per user and per address with 429 and
// Retry-After, before the account service is asked.
func TestLoginRateLimits_GW2(t *testing.T) {
	env := suitetest.Start(t, func(c *suite.Config) { c.LoginPerMinutePerUser, c.LoginPerMinutePerIP = 3, 5 })
	env.SeedLineItem(t, "rl-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}
	for range 3 {
		require.Equal(t, http.StatusUnauthorized, loginAttempt(api, "rl-co", "admin", "wrong").Status)
	}
	limited := loginAttempt(api, "rl-co", "admin", "Admin-Password-1")
	require.Equal(t, http.StatusTooManyRequests, limited.Status, "the fourth attempt for one user within a minute")
	require.Equal(t, "RATE_LIMITED", reason(limited))
	retry, err := strconv.Atoi(limited.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.Positive(t, retry)
	require.LessOrEqual(t, retry, 60)
	// The refused attempt still counted for the address: one more is allowed.
	require.Equal(t, http.StatusUnauthorized, loginAttempt(api, "rl-co", "someone-else", "wrong").Status)
	require.Equal(t, http.StatusTooManyRequests, loginAttempt(api, "rl-co", "third-name", "wrong").Status, "the sixth attempt from one address")
}

// TestSelfServiceRateLimits_GW2: sign-in with an entitlement ID and registration are
// limited like password sign-in, per key and per address, so IDs cannot be guessed
// at speed.
func TestSelfServiceRateLimits_GW2(t *testing.T) {
	env := suitetest.Start(t, func(c *suite.Config) { c.LoginPerMinutePerUser, c.LoginPerMinutePerIP = 2, 4 })
	env.SeedLineItem(t, "rk-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}
	keyAttempt := func(key string) reply {
		return api.do("POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "rk-co", "key": key})
	}
	require.Equal(t, http.StatusUnauthorized, keyAttempt("ENT-GUESS-1").Status)
	require.Equal(t, http.StatusUnauthorized, keyAttempt("ENT-GUESS-1").Status)
	require.Equal(t, http.StatusTooManyRequests, keyAttempt("ENT-GUESS-1").Status, "the third try of one key")
	require.Equal(t, http.StatusBadRequest, api.do("POST", "/v1/registrations", map[string]any{"tenant_id": "rk-co", "key": "ENT-GUESS-2"}).Status)
	limited := api.do("POST", "/v1/registrations", map[string]any{"tenant_id": "rk-co", "key": "ENT-GUESS-3"})
	require.Equal(t, http.StatusTooManyRequests, limited.Status, "the fifth self-service attempt from one address")
	require.NotEmpty(t, limited.Header.Get("Retry-After"))
}
