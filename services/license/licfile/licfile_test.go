package licfile

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testSigner(t testing.TB) (Ed25519Signer, map[string]ed25519.PublicKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return Ed25519Signer{ID: "k1", Key: priv}, map[string]ed25519.PublicKey{"k1": pub}
}

func TestGenerateAndVerify(t *testing.T) {
	signer, keys := testSigner(t)
	host, err := ParseHostID("HOSTNAME=dogma", Rules{})
	require.NoError(t, err)
	issued := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	text, err := Generate(Spec{
		Vendor: "acme", Serial: "FUL-1", Features: []Feature{{"cad", "2.0"}, {"cam", "2.0"}},
		Count: 3, Host: host, Issued: issued, Start: issued,
	}, signer)
	require.NoError(t, err)
	require.Contains(t, text, "SERVER dogma HOSTNAME=dogma\n")
	require.Contains(t, text, "VENDOR acme\n")
	require.Contains(t, text, "INCREMENT cad acme 2.0 permanent 3")
	require.Contains(t, text, `SIGN="ED25519:`)

	got, err := Verify(text, keys)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, VerifiedFeature{Name: "cad", Version: "2.0", Expiry: "permanent", Count: "3", KeyID: "k1"}, got[0])

	// Any change to what a signature covers breaks it.
	for _, tamper := range []struct{ from, to string }{
		{"permanent 3", "permanent 30"},
		{"HOSTNAME=dogma", "HOSTNAME=other"},
		{"VENDOR acme", "VENDOR acmf"},
		{"2.0 permanent", "9.0 permanent"},
	} {
		_, err := Verify(strings.Replace(text, tamper.from, tamper.to, 1), keys)
		require.ErrorIs(t, err, ErrSignature, "tampering %q → %q", tamper.from, tamper.to)
	}
	// Another key does not verify it.
	_, other := testSigner(t)
	_, err = Verify(text, other)
	require.ErrorIs(t, err, ErrSignature)
}

func TestUncountedIsNodeLocked(t *testing.T) {
	signer, keys := testSigner(t)
	exp := time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)
	text, err := Generate(Spec{
		Vendor: "acme", Serial: "FUL-2", Features: []Feature{{"viewer", "1.0"}},
		Host: HostID{Type: HostEther, Value: "0123456789ab"}, Issued: time.Now(), Start: time.Now(), Expiry: &exp,
	}, signer)
	require.NoError(t, err)
	require.NotContains(t, text, "SERVER")
	require.Contains(t, text, "31-jan-2027 uncounted")
	require.Contains(t, text, "HOSTID=0123456789ab")
	_, err = Verify(text, keys)
	require.NoError(t, err)
}

func FuzzVerify(f *testing.F) {
	signer, keys := testSigner(f)
	text, err := Generate(Spec{
		Vendor: "acme", Serial: "S", Features: []Feature{{"a", "1"}}, Count: 1,
		Host: HostID{Type: HostAny}, Issued: time.Now(), Start: time.Now(),
	}, signer)
	require.NoError(f, err)
	f.Add(text)
	f.Add("INCREMENT a b c d e \\\n")
	f.Add(`VENDOR "x`)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Verify(s, keys)
		if err == nil && len(got) == 0 {
			t.Fatal("verification passed with no features")
		}
	})
}
