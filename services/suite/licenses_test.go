package suite_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// keysOf reads a signing-key list answer into verification keys.
func keysOf(t *testing.T, list map[string]any) licfile.Keys {
	t.Helper()
	keys := licfile.Keys{}
	for _, k := range list["signing_keys"].([]any) {
		k := k.(map[string]any)
		pub, err := base64.StdEncoding.DecodeString(k["public_key"].(string))
		require.NoError(t, err)
		keys[k["key_id"].(string)] = licfile.PublicKey{Algorithm: strings.TrimPrefix(k["algorithm"].(string), "SIGNING_ALGORITHM_"), Raw: pub}
	}
	return keys
}

// TestKeyRotationAndPublicKeys_LIC5: a producer rotates its signing key (to ES256
// here); new licenses are signed by the new key, old ones keep verifying with the old
// public key, both in text and JSON form; anyone fetches the public keys without
// signing in; only the producer rotates.
func TestKeyRotationAndPublicKeys_LIC5(t *testing.T) {
	env := suitetest.Start(t)
	api, admin := orderWorldIn(t, env)
	created := admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{
		map[string]any{"order_id": "SO-K", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 5)}},
	}})
	li := lineItems(created["entitlements"].([]any)[0].(map[string]any))["1"]["activation_id"].(string)
	activate := func(host string) map[string]any {
		return admin.ok("POST", "/v1/lineItems/"+li+":activate", map[string]any{"host_id": "HOSTNAME=" + host, "quantity": 1})
	}
	before := activate("pc-1")
	require.Contains(t, before["license_text"], `SIGN="ED25519:`)

	admin.refused(http.StatusBadRequest, "POST", "/v1/signingKeys:rotate", map[string]any{"algorithm": 7})
	rotated := admin.ok("POST", "/v1/signingKeys:rotate", map[string]any{"algorithm": "SIGNING_ALGORITHM_ES256"})
	require.Equal(t, true, rotated["active"])
	require.Contains(t, rotated["public_key_pem"], "BEGIN PUBLIC KEY")
	after := activate("pc-2")
	require.Contains(t, after["license_text"], `SIGN="ES256:`)
	require.Equal(t, rotated["name"], after["signing_key"])

	public := api.ok("GET", "/v1/tenants/order-co/publicKeys", nil) // no sign-in
	require.Len(t, public["signing_keys"], 2)
	keys := keysOf(t, public)
	for _, f := range []map[string]any{before, after} {
		_, err := licfile.Verify(f["license_text"].(string), keys)
		require.NoError(t, err, "licenses of both keys verify")
		_, err = licfile.VerifyJSON([]byte(f["license_json"].(string)), keys)
		require.NoError(t, err, "so do their JSON forms")
	}
	oldOnly := licfile.Keys{}
	for id, k := range keys {
		if k.Algorithm == licfile.AlgEd25519 {
			oldOnly[id] = k
		}
	}
	_, err := licfile.Verify(after["license_text"].(string), oldOnly)
	require.ErrorIs(t, err, licfile.ErrSignature)
	require.Empty(t, api.ok("GET", "/v1/tenants/nobody/publicKeys", nil)["signing_keys"])

	admin.ok("POST", "/v1/users", map[string]any{"password": "Kay-Password-1", "user": map[string]any{
		"username": "kay", "first_name": "Kay", "last_name": "K", "email": "kay@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	api.as(login(api, "order-co", "kay", "Kay-Password-1")).refused(http.StatusForbidden, "POST", "/v1/signingKeys:rotate", map[string]any{})
}
