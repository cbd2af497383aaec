package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/license/licfile"
)

func TestLicenseVerifyOffline(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signed, err := licfile.Generate(licfile.Spec{
		Vendor: "acme", Serial: "FUL-1", Features: []licfile.Feature{{Name: "cad", Version: "1.0"}}, Count: 2,
		Servers: []licfile.HostID{{Type: licfile.HostHostname, Value: "dogma"}}, Issued: time.Now(), Start: time.Now(),
	}, licfile.Ed25519Signer{ID: "K1", Key: priv})
	require.NoError(t, err)
	text := signed.Text
	dir := t.TempDir()
	keys, _ := json.Marshal(KeysFile{"K1": {Algorithm: "ED25519", PublicKey: pub}})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keys.json"), keys, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.lic"), []byte(text), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.json"), signed.JSON, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.lic"), []byte(strings.Replace(text, "permanent 2", "permanent 20", 1)), 0o600))

	var out bytes.Buffer
	require.NoError(t, run([]string{"license", "verify", "--keys", filepath.Join(dir, "keys.json"), filepath.Join(dir, "good.lic")}, &out))
	require.Contains(t, out.String(), "OK cad 1.0 expires permanent count 2 (key K1)")
	out.Reset()
	require.NoError(t, run([]string{"license", "verify", "--keys", filepath.Join(dir, "keys.json"), filepath.Join(dir, "good.json")}, &out))
	require.Contains(t, out.String(), "OK cad 1.0 expires permanent count 2 (key K1)", "the JSON form verifies too")
	err = run([]string{"license", "verify", "--keys", filepath.Join(dir, "keys.json"), filepath.Join(dir, "bad.lic")}, &out)
	require.ErrorIs(t, err, licfile.ErrSignature)
}

// The CLI reaches the REST API: against a stand-in gateway that records requests.
func TestResourceCommands(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+string(b))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	ordersFile := filepath.Join(t.TempDir(), "orders.json")
	require.NoError(t, os.WriteFile(ordersFile, []byte(`{"orders": [{"order_id": "SO-1"}]}`), 0o600))
	for _, args := range [][]string{
		{"tokens", "create", "-gateway", srv.URL, "-token", "rna_x", "ci-token", "30d"},
		{"tokens", "delete", "-gateway", srv.URL, "-token", "rna_x", "T1"},
		{"accounts", "list", "-gateway", srv.URL, "-token", "rna_x", "-filter", `display_name:"acme"`},
		{"call", "-gateway", srv.URL, "-token", "rna_x", "post", "/v1/accounts", `{"account_id":"A"}`},
		{"accounts", "claim", "-gateway", srv.URL, "-token", "rna_x", "SR-1", "ENT-2"},
		{"orders", "import", "-gateway", srv.URL, "-token", "rna_x", ordersFile},
		{"audit", "list", "-gateway", srv.URL, "-token", "rna_x", "-service", "entitlement", "-filter", `subject:"product"`},
		{"fulfillments", "activate", "-gateway", srv.URL, "-token", "rna_x", "-request-id", "r-1", "ACT-1", "HOSTNAME=h", "3"},
		{"fulfillments", "return", "-gateway", srv.URL, "-token", "rna_x", "-count", "2", "-request-id", "r-2", "FUL-1"},
		{"hosts", "list", "-gateway", srv.URL, "-token", "rna_x", "ACME"},
	} {
		var out bytes.Buffer
		require.NoError(t, run(args, &out), args)
		require.Contains(t, out.String(), `"ok": true`)
	}
	require.Equal(t, []string{
		`POST /v1/accessTokens Bearer rna_x {"access_token":{"display_name":"ci-token"},"expires_in":"30d"}`,
		`DELETE /v1/accessTokens/T1 Bearer rna_x `,
		`GET /v1/accounts?filter=display_name%3A%22acme%22 Bearer rna_x `,
		`POST /v1/accounts Bearer rna_x {"account_id":"A"}`,
		`POST /v1/accounts/SR-1:claimKey Bearer rna_x {"key":"ENT-2"}`,
		`POST /v1/orders:batchCreate Bearer rna_x {"orders":[{"order_id":"SO-1"}]}`,
		`GET /v1/services/entitlement/auditEvents?filter=subject%3A%22product%22 Bearer rna_x `,
		`POST /v1/lineItems/ACT-1:activate Bearer rna_x {"host_id":"HOSTNAME=h","quantity":3,"request_id":"r-1"}`,
		`POST /v1/fulfillments/FUL-1:return Bearer rna_x {"count":2,"request_id":"r-2"}`,
		`GET /v1/accounts/ACME/hosts Bearer rna_x `,
	}, got)
	// Without -request-id, each seat-changing command still sends one (a new one).
	got = nil
	require.NoError(t, run([]string{"fulfillments", "rehost", "-gateway", srv.URL, "-token", "rna_x", "FUL-1", "HOSTNAME=g"}, &bytes.Buffer{}))
	require.Len(t, got, 1)
	require.Regexp(t, `^POST /v1/fulfillments/FUL-1:rehost Bearer rna_x \{"hosts":\{"server_host_ids":\["HOSTNAME=g"\]\},"request_id":"tessctl-[A-Z2-7]{16}"\}$`, got[0])
	got = nil
	var out bytes.Buffer
	require.NoError(t, run([]string{"login", "-gateway", srv.URL, "-tenant", "t1", "-key", "ENT-2"}, &out))
	require.Equal(t, []string{`POST /v1/auth:signInWithKey  {"key":"ENT-2","tenant_id":"t1"}`}, got)
	require.Error(t, run([]string{"call", "-gateway", srv.URL, "GET"}, &bytes.Buffer{}))
	require.Error(t, run([]string{"tokens", "explode"}, &bytes.Buffer{}))
	require.Error(t, run([]string{"audit", "list", "-service", "device"}, &bytes.Buffer{}))
}
