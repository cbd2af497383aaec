package app

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Built-in device ID types (SPEC DEV-1).
const (
	IDEther       = "ETHER"
	IDInternet    = "INTERNET"
	IDInternet6   = "INTERNET6"
	IDFlexID9     = "FLEXID9"
	IDFlexID10    = "FLEXID10"
	IDString      = "STRING"
	IDUser        = "USER"
	IDVMUUID      = "VM_UUID"
	IDTolerant    = "TOLERANT"
	IDExtended    = "EXTENDED"
	IDContainerID = "CONTAINER_ID"
)

// IDType is a kind of device identifier: a built-in one with its own rules, or one a
// publisher registered with a pattern.
type IDType struct {
	Name            string
	DisplayName     string
	Pattern         string
	CaseInsensitive bool
	BuiltIn         bool
	CreateTime      time.Time
}

// IDTypeStore keeps the tenant's publisher-defined ID types.
type IDTypeStore interface {
	CreateIDType(ctx context.Context, tenant string, t IDType) (IDType, error)
	IDType(ctx context.Context, tenant, name string) (IDType, bool, error)
	ListIDTypes(ctx context.Context, tenant string) ([]IDType, error)
}

// A validator checks a value of one built-in type and returns it normalised; a
// normalised value is accepted unchanged.
type validator func(value string, rules licfile.Rules) (string, error)

var builtInTypes = []struct {
	name, display string
	check         validator
}{
	{IDEther, "Ethernet", checkEther},
	{IDInternet, "Internet", checkInternet},
	{IDInternet6, "Internet IPv6", checkInternet6},
	{IDFlexID9, "FlexID 9", flexIDChecker("9")},
	{IDFlexID10, "FlexID 10", flexIDChecker("10")},
	{IDString, "String", checkString},
	{IDUser, "User", checkUser},
	{IDVMUUID, "VM UUID", checkVMUUID},
	{IDTolerant, "Tolerant", checkTolerant},
	{IDExtended, "Extended", checkExtended},
	{IDContainerID, "Container ID", checkContainerID},
}

// BuiltInIDTypes lists the built-in ID types.
func BuiltInIDTypes() []IDType {
	out := make([]IDType, len(builtInTypes))
	for i, b := range builtInTypes {
		out[i] = IDType{Name: b.name, DisplayName: b.display, BuiltIn: true}
	}
	return out
}

func builtIn(name string) (validator, bool) {
	for _, b := range builtInTypes {
		if b.name == name {
			return b.check, true
		}
	}
	return nil, false
}

// hostIDValue checks value as the value of a license host ID of kind (licfile's
// rules, SPEC LIC-3) and returns the normalised value.
func hostIDValue(kind, value string, rules licfile.Rules) (string, error) {
	if value == "" || strings.ContainsAny(value, "= \t") {
		return "", errors.New("is empty or holds '=' or spaces")
	}
	h, err := licfile.ParseHostID(kind+"="+value, rules)
	if err != nil {
		var he *licfile.HostIDError
		if errors.As(err, &he) {
			return "", errors.New(he.Message)
		}
		return "", err
	}
	return h.Value, nil
}

// checkEther takes 12 hex digits, bare or grouped by ':' or '-' (licfile's rule) or
// by '.' (the 001a.2b3c.4d5e form of some switches).
func checkEther(v string, r licfile.Rules) (string, error) {
	return hostIDValue(licfile.HostEther, strings.ReplaceAll(v, ".", ""), r)
}

func checkInternet(v string, r licfile.Rules) (string, error) {
	if strings.Contains(v, "*") {
		return "", errors.New("a device has one IPv4 address: no '*' wildcards")
	}
	return hostIDValue(licfile.HostInternet, v, r)
}

func checkInternet6(v string, _ licfile.Rules) (string, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is6() || a.Zone() != "" || a.Is4In6() {
		return "", errors.New("an IPv6 address is eight groups of hex digits separated by ':' ('::' shortens zeros), without a zone")
	}
	return a.String(), nil
}

var flexSerial = regexp.MustCompile(`^[0-9A-Za-z]{4,32}$`)

// flexIDChecker accepts a dongle's serial, bare or written as the license host ID
// value (dongle type, '-', serial); it is normalised to the latter, lower case.
func flexIDChecker(dongle string) validator {
	return func(v string, r licfile.Rules) (string, error) {
		serial, ok := strings.CutPrefix(v, dongle+"-")
		if !ok && flexSerial.MatchString(v) {
			serial = v
		}
		if !flexSerial.MatchString(serial) {
			return "", fmt.Errorf("a FLEXid %s is the dongle's serial of 4-32 letters or digits, optionally written %s-serial", dongle, dongle)
		}
		return hostIDValue(licfile.HostFlexID, dongle+"-"+strings.ToLower(serial), r)
	}
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

const maxIDLen = 1024

func checkString(v string, _ licfile.Rules) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > maxIDLen || !printable(v) {
		return "", fmt.Errorf("a STRING ID is 1-%d printable characters", maxIDLen)
	}
	return v, nil
}

func checkUser(v string, r licfile.Rules) (string, error) {
	return hostIDValue(licfile.HostUser, v, r)
}

func checkVMUUID(v string, r licfile.Rules) (string, error) {
	return hostIDValue("VM_"+licfile.HostUUID, v, r)
}

var tolerantValue = regexp.MustCompile(`^[0-9A-F]{8,128}$`)

// checkTolerant takes the hex digest a tolerant host ID is (8-128 hex digits,
// groups joined by '-' allowed), normalised upper case without separators.
func checkTolerant(v string, _ licfile.Rules) (string, error) {
	n := strings.ToUpper(strings.ReplaceAll(v, "-", ""))
	if strings.HasPrefix(v, "-") || strings.HasSuffix(v, "-") || strings.Contains(v, "--") || !tolerantValue.MatchString(n) {
		return "", errors.New("a TOLERANT ID is 8-128 hex digits (groups may be joined by '-')")
	}
	return n, nil
}

// checkExtended takes a whole license host ID (TYPE=value, SPEC LIC-3), normalised as
// license files write it; ANY and DEMO name no machine.
func checkExtended(v string, r licfile.Rules) (string, error) {
	if len(v) > 256 || strings.ContainsAny(v, " \t") {
		return "", errors.New("an EXTENDED ID is a license host ID (TYPE=value) of at most 256 characters, without spaces")
	}
	h, err := licfile.ParseHostID(v, r)
	if err != nil {
		var he *licfile.HostIDError
		if errors.As(err, &he) {
			return "", errors.New(he.Message)
		}
		return "", err
	}
	if h.Type == licfile.HostAny || h.Type == licfile.HostDemo {
		return "", fmt.Errorf("%s names no machine", h.Type)
	}
	return h.String(), nil
}

var containerID = regexp.MustCompile(`^([0-9a-f]{12}|[0-9a-f]{64})$`)

func checkContainerID(v string, _ licfile.Rules) (string, error) {
	n := strings.ToLower(v)
	if !containerID.MatchString(n) {
		return "", errors.New("a container ID is 12 or 64 hex digits")
	}
	return n, nil
}

// customPattern compiles a publisher's pattern to match whole values.
func customPattern(t IDType) (*regexp.Regexp, error) {
	expr := `^(?:` + t.Pattern + `)$`
	if t.CaseInsensitive {
		expr = `(?i)` + expr
	}
	return regexp.Compile(expr)
}

// checkCustom checks a value of a publisher-defined type: upper-cased first when the
// type is case-insensitive, then matched in full.
func checkCustom(t IDType, v string) (string, error) {
	if t.CaseInsensitive {
		v = strings.ToUpper(v)
	}
	if v == "" || len(v) > maxIDLen || !printable(v) || strings.TrimSpace(v) != v {
		return "", fmt.Errorf("a %s ID is 1-%d printable characters without leading or trailing spaces", t.Name, maxIDLen)
	}
	re, err := customPattern(t)
	if err != nil {
		return "", err
	}
	if !re.MatchString(v) {
		return "", fmt.Errorf("does not match the %s pattern %s", t.Name, t.Pattern)
	}
	return v, nil
}

// NormalizeID checks value against the ID type and returns it normalised.
func NormalizeID(t IDType, value string, rules licfile.Rules) (string, error) {
	if check, ok := builtIn(t.Name); ok {
		return check(value, rules)
	}
	return checkCustom(t, value)
}

// idTypeName is what a publisher may call an ID type.
var idTypeName = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

// maxPatternInsts bounds the compiled size of a publisher's pattern: RE2 matches in
// linear time, and this keeps the constant small (a{1000}{1000} is refused too).
const maxPatternInsts = 2000

// checkPattern refuses patterns that do not compile or are too large to match cheaply.
func checkPattern(v *errs.Violations, field string, t IDType) {
	if t.Pattern == "" {
		v.Add(field, "is required")
		return
	}
	flags := syntax.Perl
	if t.CaseInsensitive {
		flags |= syntax.FoldCase
	}
	re, err := syntax.Parse(t.Pattern, flags)
	if err != nil {
		v.Add(field, "is not a valid RE2 regular expression: %s", err)
		return
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		v.Add(field, "is not a valid RE2 regular expression: %s", err)
		return
	}
	if len(prog.Inst) > maxPatternInsts {
		v.Add(field, "is too complex (at most %d instructions compiled; this one has %d)", maxPatternInsts, len(prog.Inst))
		return
	}
	if _, err := customPattern(t); err != nil {
		v.Add(field, "is not a valid RE2 regular expression: %s", err)
	}
}

// CreateDeviceIdType registers a publisher-defined ID type (producers only).
func (a *App) CreateDeviceIdType(ctx context.Context, t IDType) (IDType, error) {
	var v errs.Violations
	if _, clash := builtIn(t.Name); clash {
		v.Add("device_id_type.id_type", "%s is a built-in ID type", t.Name)
	} else if !idTypeName.MatchString(t.Name) {
		v.Add("device_id_type.id_type", "must be 1-64 upper-case letters, digits or '_', starting with a letter")
	}
	if len(t.DisplayName) > 200 {
		v.Add("device_id_type.display_name", "must be at most 200 characters")
	}
	checkPattern(&v, "device_id_type.pattern", t)
	if err := v.Err(); err != nil {
		return IDType{}, err
	}
	if t.DisplayName == "" {
		t.DisplayName = t.Name
	}
	return a.store.CreateIDType(ctx, authz.MustTenant(ctx), t)
}

// ListDeviceIdTypes lists the built-in ID types and the tenant's own.
func (a *App) ListDeviceIdTypes(ctx context.Context) ([]IDType, error) {
	own, err := a.store.ListIDTypes(ctx, authz.MustTenant(ctx))
	if err != nil {
		return nil, err
	}
	return append(BuiltInIDTypes(), own...), nil
}

// resolveIDType finds the named type: built-in or the tenant's.
func (a *App) resolveIDType(ctx context.Context, tenant, name string) (IDType, bool, error) {
	if _, ok := builtIn(name); ok {
		return IDType{Name: name, BuiltIn: true}, true, nil
	}
	if !idTypeName.MatchString(name) {
		return IDType{}, false, nil
	}
	return a.store.IDType(ctx, tenant, name)
}
