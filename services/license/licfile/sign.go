package licfile

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Signature algorithms, as written in SIGN= values and the JSON form.
const (
	AlgEd25519 = "ED25519"
	AlgES256   = "ES256" // ECDSA on P-256 with SHA-256, ASN.1 DER signatures
)

// Signer signs canonical license bytes with one key.
type Signer interface {
	KeyID() string
	Algorithm() string
	Sign(message []byte) ([]byte, error)
}

// Ed25519Signer signs with an Ed25519 private key.
type Ed25519Signer struct {
	ID  string
	Key ed25519.PrivateKey
}

// KeyID names the key in KEYID= values.
func (s Ed25519Signer) KeyID() string { return s.ID }

// Algorithm is AlgEd25519.
func (s Ed25519Signer) Algorithm() string { return AlgEd25519 }

// Sign signs message.
func (s Ed25519Signer) Sign(message []byte) ([]byte, error) { return ed25519.Sign(s.Key, message), nil }

// ES256Signer signs with an ECDSA P-256 private key.
type ES256Signer struct {
	ID  string
	Key *ecdsa.PrivateKey
}

// KeyID names the key in KEYID= values.
func (s ES256Signer) KeyID() string { return s.ID }

// Algorithm is AlgES256.
func (s ES256Signer) Algorithm() string { return AlgES256 }

// Sign signs SHA-256(message). The signature is low-S (s ≤ n/2): (r, s) and
// (r, n−s) both satisfy ECDSA, so verifiers accept only the low one and a signature
// cannot be altered into a second valid one.
func (s ES256Signer) Sign(message []byte) ([]byte, error) {
	digest := sha256.Sum256(message)
	sig, err := ecdsa.SignASN1(rand.Reader, s.Key, digest[:])
	if err != nil {
		return nil, err
	}
	r, sv, err := parseECDSA(sig)
	if err != nil {
		return nil, err
	}
	if sv.Cmp(p256HalfOrder) > 0 {
		sv.Sub(elliptic.P256().Params().N, sv)
		return asn1.Marshal(ecdsaSignature{R: r, S: sv})
	}
	return sig, nil
}

// ecdsaSignature is the ASN.1 DER form of an ECDSA signature.
type ecdsaSignature struct {
	R, S *big.Int
}

var p256HalfOrder = new(big.Int).Rsh(elliptic.P256().Params().N, 1)

// parseECDSA reads a DER ECDSA signature, refusing trailing bytes and any encoding
// other than the one DER allows (so the bytes of a valid signature are unique too).
func parseECDSA(der []byte) (r, s *big.Int, err error) {
	var sig ecdsaSignature
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) > 0 || sig.R == nil || sig.S == nil || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 {
		return nil, nil, errors.New("malformed ECDSA signature")
	}
	if again, err := asn1.Marshal(sig); err != nil || !bytes.Equal(again, der) {
		return nil, nil, errors.New("ECDSA signature not in DER form")
	}
	return sig.R, sig.S, nil
}

// PublicKey is a verification key: Raw is the 32-byte Ed25519 key or the 65-byte
// uncompressed P-256 point.
type PublicKey struct {
	Algorithm string
	Raw       []byte
}

// Keys are the verification keys by key ID; rotated-out keys stay in it so that
// older licenses keep verifying.
type Keys map[string]PublicKey

func (k PublicKey) verify(message, sig []byte) bool {
	switch k.Algorithm {
	case AlgEd25519:
		return len(k.Raw) == ed25519.PublicKeySize && ed25519.Verify(ed25519.PublicKey(k.Raw), message, sig)
	case AlgES256:
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k.Raw)
		if err != nil {
			return false
		}
		if _, s, err := parseECDSA(sig); err != nil || s.Cmp(p256HalfOrder) > 0 {
			return false // high-S: the malleated twin of a valid signature
		}
		digest := sha256.Sum256(message)
		return ecdsa.VerifyASN1(pub, digest[:], sig)
	}
	return false
}

// ErrSignature is returned when a signature is missing, unknown or wrong.
var ErrSignature = errors.New("licfile: signature invalid")

// ErrDuplicate is returned for a license in which two increments share an ID or are
// the same increment twice: a reader that adds up increments would count its seats
// twice.
var ErrDuplicate = errors.New("licfile: duplicated increment")

// checkDistinct refuses increments that share an ID or canonical bytes (a copy of an
// increment, whatever its SIGN).
func (lic *License) checkDistinct() error {
	ids := map[string]int{}
	lines := map[string]int{}
	for i, inc := range lic.Increments {
		if id := inc.Attrs["ID"]; id != "" {
			if j, dup := ids[id]; dup {
				return fmt.Errorf("%w: increments %d and %d have ID %s", ErrDuplicate, j+1, i+1, id)
			}
			ids[id] = i
		}
		line := string(lic.CanonicalIncrement(i))
		if j, dup := lines[line]; dup {
			return fmt.Errorf("%w: increment %d repeats increment %d (feature %s)", ErrDuplicate, i+1, j+1, inc.Feature)
		}
		lines[line] = i
	}
	return nil
}

// randomID is an increment ID for an increment that has none.
func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "R-" + hex.EncodeToString(b)
}

var b64 = base64.RawURLEncoding

// Sign writes KEYID and SIGN on every increment of lic.
func Sign(lic *License, signer Signer) error {
	_, err := signIncrements(lic, signer)
	return err
}

// signIncrements signs every increment and returns the signatures. An increment
// without an ID (one of a license issued before IDs existed, taken into a
// consolidated file) gets a random one; a license whose increments are not distinct
// is refused, since no verifier would accept it.
func signIncrements(lic *License, signer Signer) ([][]byte, error) {
	sigs := make([][]byte, len(lic.Increments))
	for i := range lic.Increments {
		inc := &lic.Increments[i]
		if inc.Attrs == nil {
			inc.Attrs = map[string]string{}
		}
		inc.Attrs["KEYID"] = signer.KeyID()
		if inc.Attrs["ID"] == "" {
			inc.Attrs["ID"] = randomID()
		}
	}
	if err := lic.checkDistinct(); err != nil {
		return nil, err
	}
	for i := range lic.Increments {
		inc := &lic.Increments[i]
		sig, err := signer.Sign(lic.CanonicalIncrement(i))
		if err != nil {
			return nil, err
		}
		inc.Sign = signer.Algorithm() + ":" + b64.EncodeToString(sig)
		sigs[i] = sig
	}
	return sigs, nil
}

// SignForms signs every increment of lic (as Sign does) and returns the signed JSON
// form. A license of one increment is signed once: the JSON form's signature covers
// the same bytes as the increment's SIGN (Canonical equals CanonicalIncrement(0)),
// so it is that signature.
func SignForms(lic *License, signer Signer) ([]byte, error) {
	sigs, err := signIncrements(lic, signer)
	if err != nil {
		return nil, err
	}
	if len(sigs) == 1 {
		return renderJSON(lic, signer, sigs[0])
	}
	return SignJSON(lic, signer)
}

// VerifiedFeature is an INCREMENT line whose signature held.
type VerifiedFeature struct {
	Name    string
	Version string
	Expiry  string
	Count   string
	Serial  string
	KeyID   string
	// ID is the increment's unique ID (ID=); empty in licenses issued before IDs.
	ID string
}

func verified(inc Increment) VerifiedFeature {
	return VerifiedFeature{Name: inc.Feature, Version: inc.Version, Expiry: inc.Expiry, Count: inc.Count, Serial: inc.Attrs["SN"], KeyID: inc.Attrs["KEYID"], ID: inc.Attrs["ID"]}
}

// Verify parses a license file and checks every INCREMENT's signature against keys.
// It fails on the first line that does not verify; text the parser refuses never
// verifies.
func Verify(text string, keys Keys) ([]VerifiedFeature, error) {
	lic, err := Parse(text)
	if err != nil {
		return nil, err
	}
	if err := lic.checkDistinct(); err != nil {
		return nil, err
	}
	out := make([]VerifiedFeature, 0, len(lic.Increments))
	for i, inc := range lic.Increments {
		if err := checkSignature(keys, inc.Attrs["KEYID"], inc.Sign, lic.CanonicalIncrement(i)); err != nil {
			return nil, fmt.Errorf("%w: feature %s: %w", ErrSignature, inc.Feature, err)
		}
		out = append(out, verified(inc))
	}
	return out, nil
}

func checkSignature(keys Keys, keyID, sign string, message []byte) error {
	alg, encoded, ok := strings.Cut(sign, ":")
	if !ok {
		return errors.New("no SIGN")
	}
	key, known := keys[keyID]
	if !known {
		return fmt.Errorf("unknown key %q", keyID)
	}
	if key.Algorithm != alg {
		return fmt.Errorf("key %q is %s, the signature %s", keyID, key.Algorithm, alg)
	}
	sig, err := b64.DecodeString(encoded)
	if err != nil {
		return errors.New("malformed signature")
	}
	if !key.verify(message, sig) {
		return errors.New("does not match")
	}
	return nil
}

// JSONFormat names the JSON form's version.
const JSONFormat = "tessera.license/1"

// Document is the JSON form of a license: the license and one signature over its
// canonical text (License.Canonical).
type Document struct {
	Format    string   `json:"format"`
	License   *License `json:"license"`
	KeyID     string   `json:"key_id"`
	Algorithm string   `json:"algorithm"`
	Signature string   `json:"signature"`
}

// SignJSON renders lic in the JSON form, signed with signer.
func SignJSON(lic *License, signer Signer) ([]byte, error) {
	sig, err := signer.Sign(lic.Canonical())
	if err != nil {
		return nil, err
	}
	return renderJSON(lic, signer, sig)
}

// renderJSON writes the JSON form of lic with sig, signer's signature of
// lic.Canonical().
func renderJSON(lic *License, signer Signer, sig []byte) ([]byte, error) {
	return json.MarshalIndent(Document{
		Format: JSONFormat, License: lic, KeyID: signer.KeyID(), Algorithm: signer.Algorithm(), Signature: b64.EncodeToString(sig),
	}, "", "  ")
}

// ParseJSON reads the JSON form strictly (no unknown fields) and checks the license
// against the same grammar as the text form.
func ParseJSON(data []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc Document
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the document", ErrSyntax)
	}
	if doc.Format != JSONFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrSyntax, doc.Format, JSONFormat)
	}
	if doc.License == nil {
		return nil, fmt.Errorf("%w: no license", ErrSyntax)
	}
	for _, inc := range doc.License.Increments {
		if _, ok := inc.Attrs["SIGN"]; ok {
			return nil, fmt.Errorf("%w: SIGN is not an attribute of the JSON form", ErrSyntax)
		}
	}
	// The text the license would be written as must parse to the same license.
	back, err := Parse(doc.License.Format(""))
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(back.Canonical(), doc.License.Canonical()) {
		return nil, fmt.Errorf("%w: values are not in their normal form", ErrSyntax)
	}
	doc.License = back
	return &doc, nil
}

// VerifyJSON checks a license in the JSON form.
func VerifyJSON(data []byte, keys Keys) ([]VerifiedFeature, error) {
	doc, err := ParseJSON(data)
	if err != nil {
		return nil, err
	}
	if err := doc.License.checkDistinct(); err != nil {
		return nil, err
	}
	if err := checkSignature(keys, doc.KeyID, doc.Algorithm+":"+doc.Signature, doc.License.Canonical()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	out := make([]VerifiedFeature, 0, len(doc.License.Increments))
	for _, inc := range doc.License.Increments {
		f := verified(inc)
		f.KeyID = doc.KeyID
		out = append(out, f)
	}
	return out, nil
}

// VerifyAny checks a license in either form: JSON when it starts with '{'.
func VerifyAny(data []byte, keys Keys) ([]VerifiedFeature, error) {
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return VerifyJSON(data, keys)
	}
	return Verify(string(data), keys)
}
