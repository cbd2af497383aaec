package licfile

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
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

// Sign signs SHA-256(message).
func (s ES256Signer) Sign(message []byte) ([]byte, error) {
	digest := sha256.Sum256(message)
	return ecdsa.SignASN1(rand.Reader, s.Key, digest[:])
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
		digest := sha256.Sum256(message)
		return ecdsa.VerifyASN1(pub, digest[:], sig)
	}
	return false
}

// ErrSignature is returned when a signature is missing, unknown or wrong.
var ErrSignature = errors.New("licfile: signature invalid")

var b64 = base64.RawURLEncoding

// Sign writes KEYID and SIGN on every increment of lic.
func Sign(lic *License, signer Signer) error {
	_, err := signIncrements(lic, signer)
	return err
}

// signIncrements signs every increment and returns the signatures.
func signIncrements(lic *License, signer Signer) ([][]byte, error) {
	sigs := make([][]byte, len(lic.Increments))
	for i := range lic.Increments {
		inc := &lic.Increments[i]
		if inc.Attrs == nil {
			inc.Attrs = map[string]string{}
		}
		inc.Attrs["KEYID"] = signer.KeyID()
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
}

func verified(inc Increment) VerifiedFeature {
	return VerifiedFeature{Name: inc.Feature, Version: inc.Version, Expiry: inc.Expiry, Count: inc.Count, Serial: inc.Attrs["SN"], KeyID: inc.Attrs["KEYID"]}
}

// Verify parses a license file and checks every INCREMENT's signature against keys.
// It fails on the first line that does not verify; text the parser refuses never
// verifies.
func Verify(text string, keys Keys) ([]VerifiedFeature, error) {
	lic, err := Parse(text)
	if err != nil {
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
