package licfile

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// incrementBlock returns the text of the i-th INCREMENT statement of a formatted
// license (its line and continuation lines), with the trailing newline.
func incrementBlock(t *testing.T, text string, i int) string {
	t.Helper()
	starts := []int{}
	for at := 0; ; {
		j := strings.Index(text[at:], "INCREMENT ")
		if j < 0 {
			break
		}
		starts = append(starts, at+j)
		at += j + 1
	}
	require.Greater(t, len(starts), i)
	end := len(text)
	if i+1 < len(starts) {
		end = starts[i+1]
	}
	return text[starts[i]:end]
}

// TestEveryIncrementHasASignedID_LIC5: each increment carries its own ID (the
// fulfillment ID and its position), inside what its SIGN covers.
func TestEveryIncrementHasASignedID_LIC5(t *testing.T) {
	signer, keys := testSigner(t, "k1")
	got, err := Generate(counted(t), signer)
	require.NoError(t, err)
	features, err := Verify(got.Text, keys)
	require.NoError(t, err)
	require.Equal(t, []string{"FUL-1/1", "FUL-1/2"}, []string{features[0].ID, features[1].ID})
	require.Contains(t, string(got.License.CanonicalIncrement(0)), " ID=FUL-1/1 ")
	_, err = Verify(strings.Replace(got.Text, "ID=FUL-1/2", "ID=FUL-1/3", 1), keys)
	require.ErrorIs(t, err, ErrSignature, "the ID is signed")
}

// TestDuplicatedIncrementRefused_LIC5: a file that repeats an increment (a reader that
// adds increments up would double its seats) never verifies, whether the copy is
// byte-identical, re-wrapped, or the JSON form lists it twice; and nothing signs such
// a license.
func TestDuplicatedIncrementRefused_LIC5(t *testing.T) {
	signer, keys := testSigner(t, "k1")
	got, err := Generate(counted(t), signer)
	require.NoError(t, err)
	first := incrementBlock(t, got.Text, 0)
	for name, text := range map[string]string{
		"appended copy":   got.Text + first,
		"adjacent copy":   strings.Replace(got.Text, first, first+first, 1),
		"re-wrapped copy": got.Text + strings.ReplaceAll(first, " \\\n\t", " "),
	} {
		_, err := Verify(text, keys)
		require.ErrorIs(t, err, ErrDuplicate, name)
		_, err = VerifyAny([]byte(text), keys)
		require.ErrorIs(t, err, ErrDuplicate, name)
	}

	// Two increments with one ID: refused even before their signatures are looked at.
	twin := strings.Replace(got.Text, "ID=FUL-1/2", "ID=FUL-1/1", 1)
	_, err = Verify(twin, keys)
	require.ErrorIs(t, err, ErrDuplicate)

	// The JSON form, signed as a whole over a doubled increment list.
	doubled := *got.License
	doubled.Increments = append(append([]Increment{}, got.License.Increments...), got.License.Increments[0])
	doc, err := SignJSON(&doubled, signer)
	require.NoError(t, err)
	_, err = VerifyJSON(doc, keys)
	require.ErrorIs(t, err, ErrDuplicate)

	// The signer refuses to make what no verifier accepts.
	require.ErrorIs(t, Sign(&doubled, signer), ErrDuplicate)
}

// TestLicensesBeforeIDsStillVerify_LIC5: a license issued before increments had IDs
// (testdata/legacy-*) keeps verifying in both forms; a copied increment of it is
// still refused (by its bytes); re-signing it, as consolidation does, gives each
// increment an ID.
func TestLicensesBeforeIDsStillVerify_LIC5(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	keys := Keys{"KEY-GOLD": {Algorithm: AlgEd25519, Raw: priv.Public().(ed25519.PublicKey)}}
	text, err := os.ReadFile("testdata/legacy-counted.lic")
	require.NoError(t, err)
	require.NotContains(t, string(text), "\tID=")
	features, err := Verify(string(text), keys)
	require.NoError(t, err)
	require.Len(t, features, 2)
	require.Empty(t, features[0].ID)
	doc, err := os.ReadFile("testdata/legacy-counted.json")
	require.NoError(t, err)
	_, err = VerifyJSON(doc, keys)
	require.NoError(t, err)

	_, err = Verify(string(text)+incrementBlock(t, string(text), 1), keys)
	require.ErrorIs(t, err, ErrDuplicate)

	lic, err := Parse(string(text))
	require.NoError(t, err)
	require.NoError(t, Sign(lic, Ed25519Signer{ID: "KEY-GOLD", Key: priv}))
	features, err = Verify(lic.Format(""), keys)
	require.NoError(t, err)
	require.NotEmpty(t, features[0].ID)
	require.NotEqual(t, features[0].ID, features[1].ID)
}

// TestES256SignaturesAreLowS_LIC5: ES256 signatures are written with s ≤ n/2, and the
// malleated twin (r, n−s) of a valid signature, which plain ECDSA accepts, is refused.
func TestES256SignaturesAreLowS_LIC5(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	raw, err := ec.PublicKey.Bytes()
	require.NoError(t, err)
	signer := ES256Signer{ID: "KEY-EC", Key: ec}
	keys := Keys{"KEY-EC": {Algorithm: AlgES256, Raw: raw}}
	n := elliptic.P256().Params().N

	// About half of raw ECDSA signatures are high-S; 40 signatures all low-S means the
	// signer normalises (a chance of 2^-40 otherwise).
	for range 40 {
		sig, err := signer.Sign([]byte("message"))
		require.NoError(t, err)
		_, s, err := parseECDSA(sig)
		require.NoError(t, err)
		require.LessOrEqual(t, s.Cmp(p256HalfOrder), 0, "s is low")
	}

	got, err := Generate(counted(t), signer)
	require.NoError(t, err)
	_, err = Verify(got.Text, keys)
	require.NoError(t, err)
	malleate := func(sig []byte) []byte {
		r, s, err := parseECDSA(sig)
		require.NoError(t, err)
		twin, err := asn1.Marshal(ecdsaSignature{R: r, S: new(big.Int).Sub(n, s)})
		require.NoError(t, err)
		digest := sha256Sum(got.License.CanonicalIncrement(0))
		require.True(t, ecdsa.VerifyASN1(&ec.PublicKey, digest, twin), "the twin is valid plain ECDSA")
		return twin
	}
	sign := got.License.Increments[0].Sign
	sig, err := b64.DecodeString(strings.TrimPrefix(sign, AlgES256+":"))
	require.NoError(t, err)
	twinText := strings.Replace(got.Text, sign, AlgES256+":"+b64.EncodeToString(malleate(sig)), 1)
	require.NotEqual(t, got.Text, twinText)
	_, err = Verify(twinText, keys)
	require.ErrorIs(t, err, ErrSignature, "a high-S signature is refused")

	// A signature with a non-DER (longer) encoding of the same numbers is refused too.
	padded := append([]byte{}, sig...)
	padded = append(padded, 0)
	_, err = Verify(strings.Replace(got.Text, sign, AlgES256+":"+b64.EncodeToString(padded), 1), keys)
	require.ErrorIs(t, err, ErrSignature)
}

func sha256Sum(b []byte) []byte {
	d := sha256.Sum256(b)
	return d[:]
}

// TestFeatureRulesAgree_LIC5: the grammar takes a feature name or version exactly
// when the catalog's rule (ValidFeatureName, ValidFeatureVersion) does, so every
// catalog feature can be licensed and no license names a feature the catalog cannot.
func TestFeatureRulesAgree_LIC5(t *testing.T) {
	for _, name := range []string{"cad", "CAD_Pro_2", "f", strings.Repeat("x", 30)} {
		require.True(t, ValidFeatureName(name), name)
		require.True(t, parsesAsFeature(name, "1.0"), name)
	}
	for _, name := range []string{"cad.pro", "cad-pro", "cad+", "_cad", "2cad", strings.Repeat("x", 31), ""} {
		require.False(t, ValidFeatureName(name), name)
		require.False(t, parsesAsFeature(name, "1.0"), name)
	}
	for _, v := range []string{"1", "2.0", "10.2.3.4", "123456.1"} {
		require.True(t, parsesAsFeature("f", v), v)
	}
	for _, v := range []string{"1234567", "1.2.3.4.5", "v1", "1.", ""} {
		require.False(t, parsesAsFeature("f", v), v)
	}
}

func parsesAsFeature(name, version string) bool {
	_, err := Parse("VENDOR acme\nINCREMENT " + name + " acme " + version + " permanent 1\n")
	return err == nil
}

func FuzzFeatureRulesAgree(f *testing.F) {
	for _, s := range []string{"cad", "cad.pro", "2.0", "x_1"} {
		f.Add(s, "1.0")
	}
	f.Fuzz(func(t *testing.T, name, version string) {
		if strings.ContainsAny(name+version, " \t\r\n\"\\#") {
			return // not one token of a line
		}
		if parsesAsFeature(name, version) != (ValidFeatureName(name) && ValidFeatureVersion(version)) {
			t.Fatalf("grammar and catalog rules disagree on %q %q", name, version)
		}
	})
}

// TestDateForms_LIC5: the date forms docs/license-format.md promises, and no others.
func TestDateForms_LIC5(t *testing.T) {
	for _, s := range []string{"3-dec-2026", "03-dec-2026", "3-DEC-2026", "03-Dec-2026", "3-dEc-2026"} {
		d, err := ParseDate(s)
		require.NoError(t, err, s)
		require.Equal(t, "3-dec-2026", Date(d), s)
		lic, err := Parse("VENDOR acme\nINCREMENT f acme 1.0 " + s + " 1 ISSUED=" + s + "\n")
		require.NoError(t, err, s)
		require.Equal(t, "3-dec-2026", lic.Increments[0].Expiry)
		require.Equal(t, "3-dec-2026", lic.Increments[0].Attrs["ISSUED"])
	}
	for _, s := range []string{
		"003-dec-2026", "0-dec-2026", "00-dec-2026", "32-dec-2026", "29-feb-2027", "3-december-2026", "3-dez-2026",
		"3-dec-26", "3-dec-02026", "2026-12-03", "3/dec/2026", "3 dec 2026", "0", "1-jan-0", "",
	} {
		_, err := ParseDate(s)
		require.Error(t, err, s)
	}
	_, err := ParseDate("29-feb-2028")
	require.NoError(t, err, "a leap day")
}
