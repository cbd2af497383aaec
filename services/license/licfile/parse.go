package licfile

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Line is a parsed license line: its keyword and tokens (quotes kept on values).
type Line struct {
	Keyword string
	Tokens  []string
}

// License is a parsed license file.
type License struct {
	Header     []Line // SERVER, VENDOR, USE_SERVER
	Increments []Line
}

// ErrSyntax is returned for text that is not a license file.
var ErrSyntax = errors.New("licfile: syntax error")

// Parse reads a license file: comments (#) and blank lines are skipped, a trailing
// backslash joins a line with the next.
func Parse(text string) (*License, error) {
	var lic License
	var pending string
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if pending == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			if i == len(lines)-1 {
				return nil, fmt.Errorf("%w: the last line continues", ErrSyntax)
			}
			continue
		}
		line = pending + line
		pending = ""
		tokens, err := tokenize(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrSyntax, i+1, err)
		}
		if len(tokens) == 0 {
			continue
		}
		l := Line{Keyword: tokens[0], Tokens: tokens[1:]}
		switch l.Keyword {
		case "SERVER", "VENDOR", "USE_SERVER":
			if len(lic.Increments) > 0 {
				return nil, fmt.Errorf("%w: line %d: %s after INCREMENT", ErrSyntax, i+1, l.Keyword)
			}
			lic.Header = append(lic.Header, l)
		case "INCREMENT", "FEATURE":
			if len(l.Tokens) < 5 {
				return nil, fmt.Errorf("%w: line %d: %s needs name, vendor, version, expiry and count", ErrSyntax, i+1, l.Keyword)
			}
			lic.Increments = append(lic.Increments, l)
		default:
			return nil, fmt.Errorf("%w: line %d: unknown keyword %q", ErrSyntax, i+1, l.Keyword)
		}
	}
	if len(lic.Increments) == 0 {
		return nil, fmt.Errorf("%w: no INCREMENT line", ErrSyntax)
	}
	return &lic, nil
}

// tokenize splits on white space, keeping "quoted values" (with spaces) whole.
func tokenize(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote := false
	for _, r := range line {
		switch {
		case r == '"':
			inQuote = !inQuote
			cur.WriteRune(r)
		case (r == ' ' || r == '\t') && !inQuote:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if inQuote {
		return nil, errors.New("unterminated quote")
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

// Attr returns the value of NAME=value on the line, unquoted.
func (l Line) Attr(name string) (string, bool) {
	for _, t := range l.Tokens {
		if v, ok := strings.CutPrefix(t, name+"="); ok {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

// VerifiedFeature is an INCREMENT line whose signature held.
type VerifiedFeature struct {
	Name    string
	Version string
	Expiry  string
	Count   string
	KeyID   string
}

// ErrSignature is returned when a signature is missing, unknown or wrong.
var ErrSignature = errors.New("licfile: signature invalid")

// Verify parses text and checks every INCREMENT line's signature against keys (key
// ID → Ed25519 public key). It fails on the first line that does not verify.
func Verify(text string, keys map[string]ed25519.PublicKey) ([]VerifiedFeature, error) {
	lic, err := Parse(text)
	if err != nil {
		return nil, err
	}
	header := make([]string, len(lic.Header))
	for i, h := range lic.Header {
		header[i] = strings.Join(append([]string{h.Keyword}, h.Tokens...), " ")
	}
	var out []VerifiedFeature
	for _, inc := range lic.Increments {
		sign, ok := inc.Attr("SIGN")
		if !ok {
			return nil, fmt.Errorf("%w: feature %s has no SIGN", ErrSignature, inc.Tokens[0])
		}
		alg, rest, _ := strings.Cut(sign, ":")
		keyID, _ := inc.Attr("KEYID")
		key, known := keys[keyID]
		if alg != signAlg || !known {
			return nil, fmt.Errorf("%w: feature %s is signed with unknown key %q (%s)", ErrSignature, inc.Tokens[0], keyID, alg)
		}
		sig, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: feature %s: malformed signature", ErrSignature, inc.Tokens[0])
		}
		fields := []string{inc.Keyword}
		for _, t := range inc.Tokens {
			if !strings.HasPrefix(t, "SIGN=") {
				fields = append(fields, t)
			}
		}
		if !ed25519.Verify(key, canonical(header, fields), sig) {
			return nil, fmt.Errorf("%w: feature %s", ErrSignature, inc.Tokens[0])
		}
		out = append(out, VerifiedFeature{Name: inc.Tokens[0], Version: inc.Tokens[2], Expiry: inc.Tokens[3], Count: inc.Tokens[4], KeyID: keyID})
	}
	return out, nil
}
