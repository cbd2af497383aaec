package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
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
	text, err := licfile.Generate(licfile.Spec{
		Vendor: "acme", Serial: "FUL-1", Features: []licfile.Feature{{Name: "cad", Version: "1.0"}}, Count: 2,
		Host: licfile.HostID{Type: licfile.HostHostname, Value: "dogma"}, Issued: time.Now(), Start: time.Now(),
	}, licfile.Ed25519Signer{ID: "K1", Key: priv})
	require.NoError(t, err)
	dir := t.TempDir()
	keys, _ := json.Marshal(KeysFile{"K1": pub})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keys.json"), keys, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "good.lic"), []byte(text), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.lic"), []byte(strings.Replace(text, "permanent 2", "permanent 20", 1)), 0o600))

	var out bytes.Buffer
	require.NoError(t, run([]string{"license", "verify", "--keys", filepath.Join(dir, "keys.json"), filepath.Join(dir, "good.lic")}, &out))
	require.Contains(t, out.String(), "OK cad 1.0 expires permanent count 2 (key K1)")
	err = run([]string{"license", "verify", "--keys", filepath.Join(dir, "keys.json"), filepath.Join(dir, "bad.lic")}, &out)
	require.ErrorIs(t, err, licfile.ErrSignature)
}
