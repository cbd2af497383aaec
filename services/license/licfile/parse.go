package licfile

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// License is a license file's content: the servers it is served by (none for
// node-locked uncounted licenses), the vendor, and its feature lines. Parse reads it
// from text, Format writes it, ParseJSON/FormatJSON carry the same in the JSON form;
// both forms sign the same canonical text (docs/license-format.md).
type License struct {
	Servers    []Server    `json:"servers,omitempty"`
	Vendor     string      `json:"vendor"`
	UseServer  bool        `json:"use_server,omitempty"`
	Increments []Increment `json:"increments"`
}

// Server is a SERVER line: a license server's host name, host ID and optional port.
type Server struct {
	Name   string `json:"name"`
	HostID string `json:"host_id"`
	Port   int    `json:"port,omitempty"`
}

// Increment is an INCREMENT (or FEATURE) line.
type Increment struct {
	Keyword string `json:"keyword,omitempty"` // INCREMENT (default) or FEATURE
	Feature string `json:"feature"`
	Vendor  string `json:"vendor"`
	Version string `json:"version"`
	// Expiry is "permanent" or a dd-mmm-yyyy date.
	Expiry string `json:"expiry"`
	// Count is a positive number of seats or "uncounted".
	Count string `json:"count"`
	// Attrs are the NAME=value keywords (a flag keyword has the value ""), SIGN excluded.
	Attrs map[string]string `json:"attributes,omitempty"`
	// Sign is the SIGN value ("ALG:base64url"); empty in the JSON form.
	Sign string `json:"-"`
}

// Attribute keywords and the kind of value each takes.
type attrKind int

const (
	attrText    attrKind = iota // any text without '"' (quoted when it has spaces)
	attrToken                   // one word
	attrDate                    // dd-mmm-yyyy
	attrNumber                  // a non-negative integer
	attrFlag                    // no value
	attrHostIDs                 // one host ID, or several separated by spaces
)

var attrKinds = map[string]attrKind{
	"ISSUER": attrText, "NOTICE": attrText, "VENDOR_STRING": attrText, "PLATFORMS": attrText,
	"ID": attrToken, "SN": attrToken, "KEYID": attrToken, "TZ": attrToken, "SIGN": attrText,
	"ISSUED": attrDate, "START": attrDate, "VERSION_DATE": attrDate,
	"BORROW": attrNumber, "OVERDRAFT": attrNumber,
	"TS_OK": attrFlag, "FLEXID_SHARED": attrFlag, "USER_BASED": attrFlag, "HOST_BASED": attrFlag, "VM_ONLY": attrFlag, "PHYSICAL_ONLY": attrFlag,
	"HOSTID": attrHostIDs,
}

// ErrSyntax is returned for text that is not a license file.
var ErrSyntax = errors.New("licfile: syntax error")

// Feature names and versions: the one definition the catalog (which refuses what a
// license cannot carry) and the license grammar both use.
var (
	featureNameRe    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,29}$`)
	featureVersionRe = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6}){0,3}$`)
)

// Descriptions of the feature rules, for error messages.
const (
	FeatureNameRule    = "1-30 letters, digits or '_', starting with a letter"
	FeatureVersionRule = "1-4 dot-separated numbers of 1-6 digits, like 2.0"
)

// ValidFeatureName reports whether s may name a feature (FeatureNameRule).
func ValidFeatureName(s string) bool { return featureNameRe.MatchString(s) }

// ValidFeatureVersion reports whether s may be a feature's version (FeatureVersionRule).
func ValidFeatureVersion(s string) bool { return featureVersionRe.MatchString(s) }

var (
	tokenRe = regexp.MustCompile(`^[A-Za-z0-9._:/+@-]{1,128}$`)
	dateRe  = regexp.MustCompile(`^[0-9]{1,2}-[A-Za-z]{3}-[0-9]{4}$`)
)

// Date renders t as license files write dates (dd-mmm-yyyy, lower case).
func Date(t time.Time) string { return strings.ToLower(t.UTC().Format("2-Jan-2006")) }

// ParseDate reads a dd-mmm-yyyy date (any case).
func ParseDate(s string) (time.Time, error) {
	if !dateRe.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not a dd-mmm-yyyy date", s)
	}
	parts := strings.Split(s, "-")
	month := strings.ToUpper(parts[1][:1]) + strings.ToLower(parts[1][1:])
	t, err := time.Parse("2-Jan-2006", parts[0]+"-"+month+"-"+parts[2])
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a dd-mmm-yyyy date", s)
	}
	return t, nil
}

// Parse reads a license file: '#' comments and blank lines are skipped, a trailing
// backslash continues a line, tokens are separated by blanks and "quoted values" may
// hold blanks. Every value is checked against the grammar.
func Parse(text string) (*License, error) {
	var lic License
	var pending strings.Builder
	start := 0
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if pending.Len() == 0 {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			if i == len(lines)-1 {
				return nil, fmt.Errorf("%w: line %d: the last line continues", ErrSyntax, i+1)
			}
			pending.WriteString(cont + " ")
			continue
		}
		pending.WriteString(line)
		stmt := pending.String()
		pending.Reset()
		if err := lic.addStatement(stmt); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrSyntax, start, err)
		}
	}
	if lic.Vendor == "" {
		return nil, fmt.Errorf("%w: no VENDOR line", ErrSyntax)
	}
	if len(lic.Increments) == 0 {
		return nil, fmt.Errorf("%w: no INCREMENT line", ErrSyntax)
	}
	return &lic, nil
}

func (lic *License) addStatement(stmt string) error {
	tokens, err := tokenize(stmt)
	if err != nil {
		return err
	}
	if len(tokens) == 0 {
		return errors.New("empty statement")
	}
	kw, args := tokens[0], tokens[1:]
	if kw != "INCREMENT" && kw != "FEATURE" && len(lic.Increments) > 0 {
		return fmt.Errorf("%s after an INCREMENT line", kw)
	}
	switch kw {
	case "SERVER":
		s, err := parseServer(args)
		if err != nil {
			return err
		}
		if len(lic.Servers) == 3 {
			return errors.New("more than three SERVER lines")
		}
		lic.Servers = append(lic.Servers, s)
	case "VENDOR":
		if lic.Vendor != "" {
			return errors.New("a second VENDOR line")
		}
		if len(args) != 1 || !vendorName.MatchString(args[0]) {
			return errors.New("VENDOR takes one vendor name (1-20 letters, digits or '_')")
		}
		lic.Vendor = args[0]
	case "USE_SERVER":
		if len(args) != 0 || lic.UseServer {
			return errors.New("USE_SERVER takes no arguments and appears once")
		}
		lic.UseServer = true
	case "INCREMENT", "FEATURE":
		inc, err := parseIncrement(kw, args)
		if err != nil {
			return err
		}
		if inc.Vendor != lic.Vendor {
			return fmt.Errorf("feature %s names vendor %q, the file is for %q", inc.Feature, inc.Vendor, lic.Vendor)
		}
		lic.Increments = append(lic.Increments, inc)
	default:
		return fmt.Errorf("unknown keyword %q", kw)
	}
	return nil
}

func parseServer(args []string) (Server, error) {
	if len(args) < 2 || len(args) > 3 {
		return Server{}, errors.New("SERVER takes a host name, a host ID and an optional port")
	}
	if !tokenRe.MatchString(args[0]) {
		return Server{}, fmt.Errorf("server name %q", args[0])
	}
	h, err := ParseHostID(args[1], Rules{RelaxIP: true})
	if err != nil {
		return Server{}, err
	}
	s := Server{Name: args[0], HostID: h.String()}
	if len(args) == 3 {
		port, err := strconv.Atoi(args[2])
		if err != nil || port < 1 || port > 65535 || strconv.Itoa(port) != args[2] {
			return Server{}, fmt.Errorf("port %q is not 1-65535", args[2])
		}
		s.Port = port
	}
	return s, nil
}

func parseIncrement(kw string, args []string) (Increment, error) {
	if len(args) < 5 {
		return Increment{}, fmt.Errorf("%s needs feature, vendor, version, expiry and count", kw)
	}
	inc := Increment{Keyword: kw, Feature: args[0], Vendor: args[1], Version: args[2], Expiry: strings.ToLower(args[3]), Count: strings.ToLower(args[4])}
	if !ValidFeatureName(inc.Feature) {
		return inc, fmt.Errorf("feature name %q: want %s", inc.Feature, FeatureNameRule)
	}
	if !ValidFeatureVersion(inc.Version) {
		return inc, fmt.Errorf("version %q: want %s", inc.Version, FeatureVersionRule)
	}
	if inc.Expiry != "permanent" {
		t, err := ParseDate(inc.Expiry)
		if err != nil {
			return inc, fmt.Errorf("expiry: %w (or permanent)", err)
		}
		inc.Expiry = Date(t)
	}
	if inc.Count != "uncounted" {
		n, err := strconv.ParseInt(inc.Count, 10, 64)
		if err != nil || n < 1 || strconv.FormatInt(n, 10) != inc.Count {
			return inc, fmt.Errorf("count %q is not a positive number or uncounted", inc.Count)
		}
	}
	for _, tok := range args[5:] {
		name, value, hasValue := strings.Cut(tok, "=")
		kind, known := attrKinds[name]
		if !known {
			return inc, fmt.Errorf("unknown keyword %q", name)
		}
		if inc.Attrs == nil {
			inc.Attrs = map[string]string{}
		}
		if _, dup := inc.Attrs[name]; dup || (name == "SIGN" && inc.Sign != "") {
			return inc, fmt.Errorf("%s appears twice", name)
		}
		if kind == attrFlag {
			if hasValue {
				return inc, fmt.Errorf("%s takes no value", name)
			}
			inc.Attrs[name] = ""
			continue
		}
		if !hasValue {
			return inc, fmt.Errorf("%s needs a value", name)
		}
		v, err := unquote(value)
		if err != nil {
			return inc, fmt.Errorf("%s: %w", name, err)
		}
		if v, err = checkAttr(kind, v); err != nil {
			return inc, fmt.Errorf("%s: %w", name, err)
		}
		if name == "SIGN" {
			inc.Sign = v
			continue
		}
		inc.Attrs[name] = v
	}
	if len(inc.Attrs) == 0 {
		inc.Attrs = nil
	}
	if inc.Count == "uncounted" && inc.Attrs["HOSTID"] == "" {
		return inc, errors.New("an uncounted feature needs HOSTID=")
	}
	return inc, nil
}

// checkAttr validates an attribute value and returns its normal form.
func checkAttr(kind attrKind, v string) (string, error) {
	switch kind {
	case attrText:
		if v == "" || len(v) > 1024 || strings.ContainsAny(v, "\"\n\r\\") {
			return "", errors.New("needs 1-1024 characters without quotes, backslashes or line breaks")
		}
	case attrToken:
		if !tokenRe.MatchString(v) {
			return "", fmt.Errorf("%q is not one word", v)
		}
	case attrDate:
		t, err := ParseDate(v)
		if err != nil {
			return "", err
		}
		return Date(t), nil
	case attrNumber:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || strconv.FormatInt(n, 10) != v {
			return "", fmt.Errorf("%q is not a non-negative number", v)
		}
	case attrHostIDs:
		fields := strings.Fields(v)
		if len(fields) == 0 || len(fields) > 64 {
			return "", errors.New("needs 1-64 host IDs")
		}
		for i, f := range fields {
			h, err := ParseHostID(f, Rules{RelaxIP: true})
			if err != nil {
				return "", err
			}
			fields[i] = h.String()
		}
		return strings.Join(fields, " "), nil
	}
	return v, nil
}

func unquote(v string) (string, error) {
	if strings.HasPrefix(v, `"`) {
		if len(v) < 2 || !strings.HasSuffix(v, `"`) || strings.Count(v, `"`) != 2 {
			return "", errors.New("a quoted value must be one \"…\"")
		}
		return v[1 : len(v)-1], nil
	}
	if strings.Contains(v, `"`) {
		return "", errors.New("stray quote")
	}
	return v, nil
}

// tokenize splits on blanks, keeping "quoted values" (with blanks) whole.
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

// render writes an attribute as NAME, NAME=value or NAME="value".
func render(name, value string) string {
	switch attrKinds[name] {
	case attrFlag:
		return name
	case attrText:
		return name + `="` + value + `"`
	case attrHostIDs:
		if strings.Contains(value, " ") {
			return name + `="` + value + `"`
		}
	}
	return name + "=" + value
}

// sortedAttrs lists an increment's attributes in canonical order.
func (inc Increment) sortedAttrs() []string {
	names := make([]string, 0, len(inc.Attrs))
	for n := range inc.Attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = render(n, inc.Attrs[n])
	}
	return out
}

func (s Server) line() string {
	l := "SERVER " + s.Name + " " + s.HostID
	if s.Port > 0 {
		l += " " + strconv.Itoa(s.Port)
	}
	return l
}

func (inc Increment) head() string {
	kw := inc.Keyword
	if kw == "" {
		kw = "INCREMENT"
	}
	return strings.Join([]string{kw, inc.Feature, inc.Vendor, inc.Version, inc.Expiry, inc.Count}, " ")
}

func (lic *License) header() []string {
	var out []string
	for _, s := range lic.Servers {
		out = append(out, s.line())
	}
	out = append(out, "VENDOR "+lic.Vendor)
	if lic.UseServer {
		out = append(out, "USE_SERVER")
	}
	return out
}

// CanonicalIncrement is the byte string the SIGN of increment i covers: the header
// lines, then the increment's line with its attributes sorted by name and SIGN left
// out, each token separated by one space and lines by "\n". Comments, line breaks,
// blanks, attribute order and letter case of dates and host IDs do not change it;
// any value does.
func (lic *License) CanonicalIncrement(i int) []byte {
	inc := lic.Increments[i]
	lines := append(lic.header(), strings.Join(append([]string{inc.head()}, inc.sortedAttrs()...), " "))
	return []byte(strings.Join(lines, "\n"))
}

// Canonical is the byte string the JSON form's signature covers: the header lines and
// every increment line, canonical as in CanonicalIncrement.
func (lic *License) Canonical() []byte {
	lines := lic.header()
	for _, inc := range lic.Increments {
		lines = append(lines, strings.Join(append([]string{inc.head()}, inc.sortedAttrs()...), " "))
	}
	return []byte(strings.Join(lines, "\n"))
}

// Format writes the license as text, with an optional leading comment; SIGN values
// are written where set. Long increment lines continue with a backslash.
func (lic *License) Format(comment string) string {
	var b strings.Builder
	for _, c := range strings.Split(comment, "\n") {
		if c != "" {
			b.WriteString("# " + c + "\n")
		}
	}
	for _, h := range lic.header() {
		b.WriteString(h + "\n")
	}
	for _, inc := range lic.Increments {
		b.WriteString(inc.head())
		attrs := inc.sortedAttrs()
		if inc.Sign != "" {
			attrs = append(attrs, render("SIGN", inc.Sign))
		}
		for _, a := range attrs {
			b.WriteString(" \\\n\t" + a)
		}
		b.WriteString("\n")
	}
	return b.String()
}
