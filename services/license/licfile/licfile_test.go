package licfile

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func testSigner(t testing.TB, id string) (Ed25519Signer, Keys) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return Ed25519Signer{ID: id, Key: priv}, Keys{id: {Algorithm: AlgEd25519, Raw: pub}}
}

func host(t testing.TB, s string) HostID {
	h, err := ParseHostID(s, Rules{})
	require.NoError(t, err)
	return h
}

var issued = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func counted(t testing.TB) Spec {
	exp := time.Date(2027, 12, 31, 0, 0, 0, 0, time.UTC)
	return Spec{
		Vendor: "acme", Serial: "FUL-1", Features: []Feature{{"cad", "2.0"}, {"cam", "2.0"}}, Count: 3,
		Servers: []HostID{host(t, "HOSTNAME=dogma")}, Port: 27000, Issued: issued, Start: issued, Expiry: &exp,
		Attrs: map[string]string{"NOTICE": "Licensed to Acme Corp", "ISSUER": "Tessera", "BORROW": "168", "TS_OK": "", "OVERDRAFT": "2"},
	}
}

// TestGoldenLicenses_LIC5: a fixed clock and key give byte-identical files in both
// forms, with stable ordering (golden files in testdata; -update rewrites them).
func TestGoldenLicenses_LIC5(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	signer := Ed25519Signer{ID: "KEY-GOLD", Key: priv}
	keys := Keys{"KEY-GOLD": {Algorithm: AlgEd25519, Raw: priv.Public().(ed25519.PublicKey)}}
	triad := counted(t)
	triad.Serial = "FUL-2"
	triad.Servers = []HostID{host(t, "PHY_HOSTNAME=lic1"), host(t, "PHY_HOSTNAME=lic2"), host(t, "PHY_ETHER=0123456789ab")}
	node := Spec{
		Vendor: "acme", Serial: "FUL-3", Features: []Feature{{"viewer", "1.0"}}, NodeHosts: []HostID{host(t, "ETHER=00:11:22:33:44:55"), host(t, "HOSTNAME=cleo-pc")},
		Issued: issued, Start: issued, Attrs: map[string]string{"VENDOR_STRING": "tier=gold seats=2", "USER_BASED": ""},
	}
	for name, spec := range map[string]Spec{"counted": counted(t), "triad": triad, "nodelocked": node} {
		got, err := Generate(spec, signer)
		require.NoError(t, err, name)
		for ext, body := range map[string][]byte{".lic": []byte(got.Text), ".json": got.JSON} {
			path := filepath.Join("testdata", name+ext)
			if *update {
				require.NoError(t, os.WriteFile(path, body, 0o600))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update once to write %s", path)
			require.Equal(t, string(want), string(body), path)
		}
		_, err = Verify(got.Text, keys)
		require.NoError(t, err, name)
		_, err = VerifyJSON(got.JSON, keys)
		require.NoError(t, err, name)
	}
}

// TestSignatureCoversValuesOnly_LIC5: comments, blank lines, line breaks, blanks and
// attribute order may change; any value change breaks the signature, in both forms.
func TestSignatureCoversValuesOnly_LIC5(t *testing.T) {
	signer, keys := testSigner(t, "k1")
	got, err := Generate(counted(t), signer)
	require.NoError(t, err)
	features, err := Verify(got.Text, keys)
	require.NoError(t, err)
	require.Equal(t, VerifiedFeature{Name: "cad", Version: "2.0", Expiry: "31-dec-2027", Count: "3", Serial: "FUL-1", KeyID: "k1", ID: "FUL-1/1"}, features[0])

	harmless := []string{
		"# a comment of the customer's\n\n" + got.Text + "\n# trailing\n",
		strings.ReplaceAll(got.Text, " \\\n", "   \\\n"),
		strings.Replace(got.Text, "VENDOR acme", "VENDOR \t acme", 1),
		strings.ReplaceAll(got.Text, "INCREMENT cad acme", "INCREMENT  cad    acme"),
		strings.ReplaceAll(got.Text, "\n", "\r\n"),
		strings.ReplaceAll(got.Text, "\t", "  \t"),
		strings.Replace(got.Text, "31-dec-2027", "31-DEC-2027", 2),
		strings.Replace(got.Text, "BORROW=168 \\\n\tISSUED=22-nov-2026", "ISSUED=22-nov-2026 \\\n\tBORROW=168", 1),
	}
	for i, text := range harmless {
		_, err := Verify(text, keys)
		require.NoError(t, err, "harmless edit %d:\n%s", i, text)
	}
	for _, tamper := range []struct{ from, to string }{
		{"cad acme 2.0 31-dec-2027 3", "cad acme 2.0 31-dec-2027 30"},
		{"31-dec-2027", "31-dec-2029"},
		{"cad acme 2.0", "cad acme 3.0"},
		{"INCREMENT cad", "INCREMENT cax"},
		{"SERVER dogma HOSTNAME=dogma 27000", "SERVER dogma HOSTNAME=other 27000"},
		{"27000", "27001"},
		{"Licensed to Acme Corp", "Licensed to Acme Corp."},
		{"BORROW=168", "BORROW=999"},
		{"OVERDRAFT=2", "OVERDRAFT=20"},
		{"\tTS_OK \\\n", ""},
		{"SN=FUL-1", "SN=FUL-9"},
		{"USE_SERVER\n", ""},
		{"KEYID=k1", "KEYID=k2"},
	} {
		text := strings.Replace(got.Text, tamper.from, tamper.to, 1)
		require.NotEqual(t, got.Text, text, "the tamper %q applies", tamper.from)
		_, err := Verify(text, keys)
		require.Error(t, err, "tampering %q → %q", tamper.from, tamper.to)
	}
	_, other := testSigner(t, "k1")
	_, err = Verify(got.Text, other)
	require.ErrorIs(t, err, ErrSignature, "another key with the same ID does not verify it")

	// The JSON form: reformatting is harmless, any value change breaks it.
	var doc map[string]any
	require.NoError(t, json.Unmarshal(got.JSON, &doc))
	compact, err := json.Marshal(doc)
	require.NoError(t, err)
	_, err = VerifyJSON(compact, keys)
	require.NoError(t, err)
	for _, tamper := range []struct{ from, to string }{
		{`"count": "3"`, `"count": "4"`},
		{`"feature": "cam"`, `"feature": "cax"`},
		{`"port": 27000`, `"port": 27001`},
		{`"BORROW": "168"`, `"BORROW": "169"`},
		{`"key_id": "k1"`, `"key_id": "k2"`},
	} {
		text := strings.Replace(string(got.JSON), tamper.from, tamper.to, 1)
		require.NotEqual(t, string(got.JSON), text, "the tamper %q applies", tamper.from)
		_, err := VerifyJSON([]byte(text), keys)
		require.Error(t, err, "tampering %q → %q", tamper.from, tamper.to)
	}
	_, err = VerifyJSON([]byte(strings.Replace(string(got.JSON), `"format"`, `"extra": 1, "format"`, 1)), keys)
	require.ErrorIs(t, err, ErrSyntax, "unknown fields are refused")
}

// TestKeyRotationAndES256_LIC5: licenses signed by a rotated-out key keep verifying
// with its public key; ECDSA P-256 keys sign and verify the same way; a key of one
// algorithm never verifies a signature claiming another.
func TestKeyRotationAndES256_LIC5(t *testing.T) {
	old, oldKeys := testSigner(t, "KEY-OLD")
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	raw, err := ec.PublicKey.Bytes()
	require.NoError(t, err)
	next := ES256Signer{ID: "KEY-NEW", Key: ec}
	keys := Keys{"KEY-OLD": oldKeys["KEY-OLD"], "KEY-NEW": {Algorithm: AlgES256, Raw: raw}}

	before, err := Generate(counted(t), old)
	require.NoError(t, err)
	after, err := Generate(counted(t), next)
	require.NoError(t, err)
	require.Contains(t, after.Text, `SIGN="ES256:`)
	for _, l := range []Signed{before, after} {
		_, err := Verify(l.Text, keys)
		require.NoError(t, err)
		_, err = VerifyAny(l.JSON, keys)
		require.NoError(t, err)
	}
	_, err = Verify(after.Text, oldKeys)
	require.ErrorIs(t, err, ErrSignature, "the old key alone does not know the new one")
	swapped := Keys{"KEY-NEW": {Algorithm: AlgEd25519, Raw: oldKeys["KEY-OLD"].Raw}}
	_, err = Verify(after.Text, swapped)
	require.ErrorIs(t, err, ErrSignature)
}

func TestGrammarRefusals_LIC5(t *testing.T) {
	base := "VENDOR acme\nINCREMENT f acme 1.0 permanent uncounted HOSTID=ANY SN=1\n"
	_, err := Parse(base)
	require.NoError(t, err)
	for _, bad := range []string{
		"INCREMENT f acme 1.0 permanent uncounted HOSTID=ANY\n", // no VENDOR
		"VENDOR acme\n", // no INCREMENT
		"VENDOR acme\nINCREMENT f acme 1.0 31-feb-2027 1\n",                   // no such date
		"VENDOR acme\nINCREMENT f acme 1.0 2027-12-31 1\n",                    // not dd-mmm-yyyy
		"VENDOR acme\nINCREMENT f acme 1.0 permanent 0\n",                     // count 0
		"VENDOR acme\nINCREMENT f acme 1.0 permanent uncounted\n",             // uncounted without HOSTID
		"VENDOR acme\nINCREMENT f other 1.0 permanent 1\n",                    // another vendor
		"VENDOR acme\nINCREMENT f acme v1 permanent 1\n",                      // version
		"VENDOR acme\nINCREMENT f acme 1.0 permanent 1 COLOR=red\n",           // unknown keyword
		"VENDOR acme\nINCREMENT f acme 1.0 permanent 1 BORROW=-1\n",           // negative
		"VENDOR acme\nINCREMENT f acme 1.0 permanent 1 TS_OK=1\n",             // flag with value
		"VENDOR acme\nINCREMENT f acme 1.0 permanent 1 SN=1 SN=2\n",           // twice
		"VENDOR acme\nINCREMENT f acme 1.0 permanent 1 NOTICE=\"open\n",       // quote
		"VENDOR acme\nINCREMENT f acme 1.0 permanent 1 HOSTID=NOPE\n",         // host ID
		"VENDOR acme\nINCREMENT f acme 1.0 permanent 1 \\",                    // continues at the end
		"VENDOR acme\nINCREMENT f acme 1.0 permanent 1\nSERVER h ANY\n",       // header after INCREMENT
		"SERVER h ANY 0\nVENDOR acme\nINCREMENT f acme 1.0 permanent 1\n",     // port
		"VENDOR acme\nVENDOR acme\nINCREMENT f acme 1.0 permanent 1\n",        // two vendors
		"VENDOR acme\nPACKAGE p acme 1.0\nINCREMENT f acme 1.0 permanent 1\n", // unknown line
	} {
		_, err := Parse(bad)
		require.ErrorIs(t, err, ErrSyntax, "%q", bad)
	}
}

func FuzzParse(f *testing.F) {
	signer, _ := testSigner(f, "k1")
	got, err := Generate(counted(f), signer)
	require.NoError(f, err)
	f.Add(got.Text)
	f.Add("VENDOR acme\nINCREMENT f acme 1.0 permanent uncounted HOSTID=\"ANY DEMO\" SN=1\n")
	f.Fuzz(func(t *testing.T, s string) {
		lic, err := Parse(s)
		if err != nil {
			return
		}
		// What parses, formats to text that parses to the same canonical license.
		again, err := Parse(lic.Format("x"))
		if err != nil {
			t.Fatalf("%q parsed, but its formatted text does not: %v", s, err)
		}
		if string(again.Canonical()) != string(lic.Canonical()) {
			t.Fatalf("canonical form changed by formatting: %q vs %q", lic.Canonical(), again.Canonical())
		}
	})
}

func FuzzVerify(f *testing.F) {
	signer, keys := testSigner(f, "k1")
	got, err := Generate(counted(f), signer)
	require.NoError(f, err)
	f.Add(got.Text)
	f.Add(string(got.JSON))
	f.Add("INCREMENT a b c d e \\\n")
	f.Add(`VENDOR "x`)
	f.Add(got.Text + got.Text[strings.Index(got.Text, "INCREMENT"):])
	f.Fuzz(func(t *testing.T, s string) {
		features, err := VerifyAny([]byte(s), keys)
		if err != nil {
			return
		}
		if len(features) == 0 {
			t.Fatal("verification passed with no features")
		}
		// No two verified increments share an ID.
		ids := map[string]bool{}
		for _, f := range features {
			if f.ID != "" && ids[f.ID] {
				t.Fatalf("verified a duplicated increment %s", f.ID)
			}
			ids[f.ID] = true
		}
		// No input is accepted by the verifier and refused by the parser.
		if _, perr := Parse(s); perr != nil {
			if _, jerr := ParseJSON([]byte(s)); jerr != nil {
				t.Fatalf("verified but the parsers refuse it: %v / %v", perr, jerr)
			}
		}
	})
}

// countingSigner counts the signatures it makes.
type countingSigner struct {
	Signer
	n *int
}

func (c countingSigner) Sign(message []byte) ([]byte, error) {
	*c.n++
	return c.Signer.Sign(message)
}

// A license of one increment is signed once for both forms (the JSON form's bytes
// are the increment's), with the same result as signing them apart; a license of
// several increments gets one signature each and one for the JSON form.
func TestOneIncrementIsSignedOnce_LIC5(t *testing.T) {
	signer, keys := testSigner(t, "KEY-1")
	single := counted(t)
	single.Features = single.Features[:1]
	for _, c := range []struct {
		spec Spec
		sigs int
	}{{single, 1}, {counted(t), 3}} {
		n := 0
		got, err := Generate(c.spec, countingSigner{Signer: signer, n: &n})
		require.NoError(t, err)
		require.Equal(t, c.sigs, n)
		_, err = VerifyJSON(got.JSON, keys)
		require.NoError(t, err)
		apart, err := SignJSON(got.License, signer)
		require.NoError(t, err)
		require.Equal(t, string(apart), string(got.JSON), "Ed25519 is deterministic: the shared signature is the one signing apart gives")
	}
}
