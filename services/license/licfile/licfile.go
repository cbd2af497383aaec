package licfile

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Feature is one licensed feature.
type Feature struct {
	Name    string
	Version string
}

// Spec is what a license file grants.
type Spec struct {
	Vendor   string
	Serial   string // fulfillment ID
	Features []Feature
	// Count is the number of concurrent seats; 0 means uncounted (node-locked).
	Count int64
	// Host the license is locked to: the license server's for counted licenses, the
	// client's own for uncounted ones.
	Host   HostID
	Issued time.Time
	Start  time.Time
	Expiry *time.Time // nil: permanent
}

// Signer signs canonical feature lines.
type Signer interface {
	KeyID() string
	Sign(message []byte) ([]byte, error)
}

// Ed25519Signer signs with an Ed25519 private key.
type Ed25519Signer struct {
	ID  string
	Key ed25519.PrivateKey
}

// KeyID names the key in SIGN= values.
func (s Ed25519Signer) KeyID() string { return s.ID }

// Sign signs message.
func (s Ed25519Signer) Sign(message []byte) ([]byte, error) { return ed25519.Sign(s.Key, message), nil }

const signAlg = "ED25519"

var vendorName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,19}$`)

func date(t time.Time) string { return strings.ToLower(t.UTC().Format("2-Jan-2006")) }

// Generate renders and signs the license file of spec.
func Generate(spec Spec, signer Signer) (string, error) {
	if !vendorName.MatchString(spec.Vendor) {
		return "", fmt.Errorf("licfile: vendor name %q must be 1-20 letters, digits or '_'", spec.Vendor)
	}
	if len(spec.Features) == 0 {
		return "", errors.New("licfile: no features to license")
	}
	var header []string
	if spec.Count > 0 {
		header = append(header, fmt.Sprintf("SERVER %s %s", spec.Host.ServerName(), spec.Host.String()))
	}
	header = append(header, "VENDOR "+spec.Vendor)
	if spec.Count > 0 {
		header = append(header, "USE_SERVER")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Tessera license %s, issued %s\n", spec.Serial, date(spec.Issued))
	for _, h := range header {
		b.WriteString(h + "\n")
	}
	expiry := "permanent"
	if spec.Expiry != nil {
		expiry = date(*spec.Expiry)
	}
	count := "uncounted"
	if spec.Count > 0 {
		count = strconv.FormatInt(spec.Count, 10)
	}
	for _, f := range spec.Features {
		fields := []string{
			"INCREMENT", f.Name, spec.Vendor, f.Version, expiry, count,
			"ISSUED=" + date(spec.Issued), "START=" + date(spec.Start), "SN=" + spec.Serial,
		}
		if spec.Count == 0 {
			fields = append(fields, "HOSTID="+spec.Host.String())
		}
		fields = append(fields, "KEYID="+signer.KeyID())
		sig, err := signer.Sign(canonical(header, fields))
		if err != nil {
			return "", err
		}
		fields = append(fields, fmt.Sprintf(`SIGN="%s:%s"`, signAlg, base64.RawURLEncoding.EncodeToString(sig)))
		// Wrap like FlexNet: a trailing backslash continues the line.
		b.WriteString(strings.Join(fields[:6], " ") + " \\\n\t" + strings.Join(fields[6:], " ") + "\n")
	}
	return b.String(), nil
}

// canonical is the exact byte string a feature line's signature covers: the header
// lines and the feature line without SIGN, each as single-space-separated tokens.
func canonical(header []string, fields []string) []byte {
	var b strings.Builder
	for _, h := range header {
		b.WriteString(strings.Join(strings.Fields(h), " "))
		b.WriteByte('\n')
	}
	b.WriteString(strings.Join(fields, " "))
	return []byte(b.String())
}
