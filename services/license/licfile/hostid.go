// Package licfile writes, parses and verifies Tessera licenses: FlexNet-style text
// (SERVER, VENDOR, USE_SERVER, INCREMENT lines) and a signed JSON form, each signed
// over a canonical form. It has no dependency on a running Tessera, so partner
// systems and `tessctl license verify` can check licenses offline. It also parses and
// validates host IDs (SPEC LIC-3).
package licfile

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Host ID types (the part before "=", without a virtualization prefix).
const (
	HostAny        = "ANY"
	HostDemo       = "DEMO"
	HostEther      = "ETHER"
	HostTPM        = "TPM_ID"
	HostLong       = "LONG"
	HostUser       = "USER"
	HostHostname   = "HOSTNAME"
	HostDisplay    = "DISPLAY"
	HostInternet   = "INTERNET"
	HostDiskSerial = "DISK_SERIAL_NUM"
	HostFlexID     = "FLEXID"
	HostSerial     = "ID"
	HostComposite  = "COMPOSITE"
	HostUUID       = "UUID"
	HostVSN        = "VSN"
	HostAmazonEIP  = "AMZN_EIP"
	HostAmazonAMI  = "AMZN_AMI"
	HostAmazonIID  = "AMZN_IID"
)

// Kinds a license model may allow (SPEC LIC-3). INTERNET (either range) splits by range;
// prefixed kinds are the base kind with its virtualization prefix, e.g. VMW_HOSTNAME.
const (
	KindInternetRoutable    = "INTERNET_ROUTABLE"
	KindInternetNonRoutable = "INTERNET_NONROUTABLE"
	KindVendorDefined       = "VENDOR_DEFINED"
)

// Virtualization prefixes and the base types each accepts.
var prefixBases = map[string][]string{
	"PHY_": {HostEther, HostInternet, HostHostname, HostDisplay, HostUser, HostDiskSerial, HostFlexID},
	"VM_":  {HostUUID},
	"VMW_": {HostUUID, HostEther, HostInternet, HostHostname},
	"HPV_": {HostUUID, HostEther, HostInternet, HostHostname, HostVSN},
	"LMB_": {HostEther, HostInternet, HostHostname, HostFlexID},
}

// Kinds lists every kind a license model may allow, for validation of its list.
func Kinds() []string {
	out := []string{
		HostAny, HostDemo, HostEther, HostTPM, HostLong, HostUser, HostHostname, HostDisplay,
		HostInternet, KindInternetRoutable, KindInternetNonRoutable, HostDiskSerial, HostFlexID, HostSerial, HostComposite,
		KindVendorDefined, HostAmazonEIP, HostAmazonAMI, HostAmazonIID,
	}
	for prefix, bases := range prefixBases {
		for _, b := range bases {
			out = append(out, prefix+b)
		}
	}
	slices.Sort(out)
	return out
}

// Role is what a host does in a license.
type Role int

// Roles.
const (
	RoleNodelocked Role = iota // the client machine of a node-locked license
	RoleServer                 // a license server
)

func (r Role) String() string {
	if r == RoleServer {
		return "server"
	}
	return "node-locked"
}

// HostID is what a license is locked to.
type HostID struct {
	Prefix string // "", PHY_, VM_, VMW_, HPV_ or LMB_
	Type   string // one of the Host* constants, or a vendor-defined name
	Value  string
	// Vendor is set for a vendor-defined NAME=value host ID.
	Vendor bool
}

// Rules tune validation per tenant.
type Rules struct {
	// RelaxIP drops the address-range and wildcard-position checks of INTERNET and
	// AMZN_EIP host IDs; the dotted-quad syntax is still checked.
	RelaxIP bool
}

// Rule names say which rule a host ID broke; they reach API callers.
const (
	RuleSyntax        = "syntax"
	RuleUnknownType   = "unknown_type"
	RuleEther         = "ether_12_hex"
	RuleTPM           = "tpm_id_format"
	RuleLong          = "long_8_hex"
	RuleComposite     = "composite_12_hex"
	RuleUUID          = "uuid_format"
	RuleValue         = "value_characters"
	RuleIPv4          = "ipv4_format"
	RuleWildcard      = "ip_wildcard_position"
	RuleRoutable      = "ip_routable"
	RuleNonRoutable   = "ip_non_routable"
	RulePrefixBase    = "prefix_base_type"
	RulePrefixNoWild  = "prefix_no_wildcard"
	RuleServerOnly    = "server_host_only"
	RuleNodeOnly      = "nodelocked_host_only"
	RuleAmazon        = "amazon_id_format"
	RuleFlexID        = "flexid_format"
	RuleTriadSize     = "triad_three_servers"
	RuleTriadPrefix   = "triad_same_prefix"
	RuleTriadNoEIP    = "triad_no_amzn_eip"
	RuleTriadNoAny    = "triad_real_hosts"
	RuleKindForbidden = "kind_not_allowed"
)

// HostIDError is a host ID that breaks a rule.
type HostIDError struct {
	Input   string
	Rule    string
	Message string
}

func (e *HostIDError) Error() string {
	return fmt.Sprintf("host ID %q: %s (rule %s)", e.Input, e.Message, e.Rule)
}

func broken(input, rule, format string, args ...any) *HostIDError {
	return &HostIDError{Input: input, Rule: rule, Message: fmt.Sprintf(format, args...)}
}

var (
	hex12       = regexp.MustCompile(`^[0-9a-fA-F]{12}$`)
	hex8        = regexp.MustCompile(`^[0-9a-fA-F]{8}$`)
	tpmID       = regexp.MustCompile(`^[0-9A-Za-z]{5}(-[0-9A-Za-z]{5}){3}$`)
	uuidRe      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	hostnameRe  = regexp.MustCompile(`^[A-Za-z0-9*]([A-Za-z0-9*-]{0,61}[A-Za-z0-9*])?(\.[A-Za-z0-9*]([A-Za-z0-9*-]{0,61}[A-Za-z0-9*])?)*$`)
	freeValue   = regexp.MustCompile(`^[A-Za-z0-9._:@+/*-]{1,64}$`)
	serialValue = regexp.MustCompile(`^[0-9]+(-[0-9]+)*$`)
	flexID      = regexp.MustCompile(`^([0-9]{1,2})-[0-9A-Za-z]{4,32}$`)
	amazonAMI   = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	amazonIID   = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)
	vendorType  = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,31}$`)
)

// known are the types with their own rules; any other NAME is vendor-defined.
var known = []string{
	HostAny, HostDemo, HostEther, HostTPM, HostLong, HostUser, HostHostname, HostDisplay, HostInternet,
	HostDiskSerial, HostFlexID, HostSerial, HostComposite, HostUUID, HostVSN, HostAmazonEIP, HostAmazonAMI, HostAmazonIID,
}

// ParseHostID reads a host ID: ANY, DEMO, 12 hex digits (an Ethernet address), 8 hex
// digits (a LONG host ID, the 32-bit machine ID) or [PREFIX_]TYPE=value, and checks
// the rules of its type. Names are case-insensitive; the result is normalised
// (ETHER lower-case without separators, written bare; LONG lower-case, written
// LONG=…), docs/license-format.md lists every rule.
func ParseHostID(s string, rules Rules) (HostID, error) {
	in := strings.TrimSpace(s)
	switch up := strings.ToUpper(in); {
	case up == HostAny || up == HostDemo:
		return HostID{Type: up}, nil
	case hex12.MatchString(in):
		return HostID{Type: HostEther, Value: strings.ToLower(in)}, nil
	case hex8.MatchString(in):
		return HostID{Type: HostLong, Value: strings.ToLower(in)}, nil
	}
	name, value, ok := strings.Cut(in, "=")
	if !ok || name == "" {
		return HostID{}, broken(in, RuleSyntax, "write TYPE=value, ANY, DEMO, 12 hex digits (Ethernet) or 8 hex digits (LONG)")
	}
	if value == "" {
		return HostID{}, broken(in, RuleSyntax, "%s has no value", name)
	}
	name = strings.ToUpper(name)
	h := HostID{Type: name, Value: value}
	for prefix := range prefixBases {
		if base, ok := strings.CutPrefix(name, prefix); ok && slices.Contains(known, base) {
			h.Prefix, h.Type = prefix, base
			if !slices.Contains(prefixBases[prefix], base) {
				return HostID{}, broken(in, RulePrefixBase, "%s goes with %s only", prefix, strings.Join(prefixBases[prefix], ", "))
			}
		}
	}
	if h.Type == HostUUID && h.Prefix == "" {
		return HostID{}, broken(in, RulePrefixBase, "UUID needs a VM_, VMW_ or HPV_ prefix")
	}
	if h.Type == HostVSN && h.Prefix == "" {
		return HostID{}, broken(in, RulePrefixBase, "VSN needs the HPV_ prefix")
	}
	if err := h.checkValue(in, rules); err != nil {
		return HostID{}, err
	}
	return h, nil
}

func (h *HostID) checkValue(in string, rules Rules) error {
	switch h.Type {
	case HostAny, HostDemo:
		return broken(in, RuleSyntax, "%s takes no value", h.Type)
	case HostEther:
		v := strings.NewReplacer(":", "", "-", "").Replace(h.Value)
		if !hex12.MatchString(v) {
			return broken(in, RuleEther, "an Ethernet address is 12 hex digits")
		}
		h.Value = strings.ToLower(v)
	case HostTPM:
		if !tpmID.MatchString(h.Value) {
			return broken(in, RuleTPM, "a TPM ID is four groups of 5 letters or digits joined by '-' (23 characters)")
		}
	case HostLong:
		if !hex8.MatchString(h.Value) {
			return broken(in, RuleLong, "a LONG host ID is 8 hex digits")
		}
		h.Value = strings.ToLower(h.Value)
	case HostComposite:
		if !hex12.MatchString(h.Value) {
			return broken(in, RuleComposite, "a COMPOSITE host ID is 12 hex digits")
		}
		h.Value = strings.ToUpper(h.Value)
	case HostUUID:
		if !uuidRe.MatchString(h.Value) {
			return broken(in, RuleUUID, "a UUID is 8-4-4-4-12 hex digits")
		}
		h.Value = strings.ToUpper(h.Value)
	case HostHostname:
		if len(h.Value) > 253 || !hostnameRe.MatchString(h.Value) {
			return broken(in, RuleValue, "a host name is letters, digits, '-' and '.'-separated labels (a '*' stands for any characters)")
		}
		if strings.Contains(h.Value, "*") && (h.Prefix == "VMW_" || h.Prefix == "HPV_" || h.Prefix == "LMB_") {
			return broken(in, RulePrefixNoWild, "%sHOSTNAME cannot contain wildcards", h.Prefix)
		}
	case HostInternet:
		return checkIP(in, h.Value, false, rules)
	case HostAmazonEIP:
		return checkIP(in, h.Value, true, rules)
	case HostAmazonAMI:
		if !amazonAMI.MatchString(h.Value) {
			return broken(in, RuleAmazon, "an AMI template ID is ami- and 8 or 17 lower-case hex digits")
		}
	case HostAmazonIID:
		if !amazonIID.MatchString(h.Value) {
			return broken(in, RuleAmazon, "an instance ID is i- and 8 or 17 lower-case hex digits")
		}
	case HostSerial:
		if len(h.Value) > 64 || !serialValue.MatchString(h.Value) {
			return broken(in, RuleValue, "an ID host ID is a serial number: digits, optionally in '-'-joined groups")
		}
	case HostFlexID:
		m := flexID.FindStringSubmatch(h.Value)
		if m == nil {
			return broken(in, RuleFlexID, "a FLEXid is the dongle type, '-' and its 4-32 letter or digit serial (e.g. 9-1a2b3c4d)")
		}
		if h.Prefix == "LMB_" && m[1] != "9" && m[1] != "10" {
			return broken(in, RulePrefixBase, "LMB_FLEXID takes FLEXid 9 or 10 dongles only")
		}
	case HostUser, HostDisplay, HostDiskSerial, HostVSN:
		if !freeValue.MatchString(h.Value) {
			return broken(in, RuleValue, "%s takes 1-64 letters, digits or . _ : @ + / * -", h.Type)
		}
	default:
		if !vendorType.MatchString(h.Type) || strings.HasPrefix(h.Type, "AMZN_") {
			return broken(in, RuleUnknownType, "%s is not a host ID type (vendor-defined names are upper-case letters, digits and '_')", h.Type)
		}
		if !freeValue.MatchString(h.Value) {
			return broken(in, RuleValue, "vendor-defined host IDs take 1-64 letters, digits or . _ : @ + / * -")
		}
		h.Vendor = true
	}
	return nil
}

// checkIP applies the INTERNET rules: a dotted quad whose octets may be '*' by the
// first octet (≤127: octets 2-4; 128-191: octets 3-4; ≥192: octet 4). AMZN_EIP must
// be routable. RelaxIP keeps only the syntax.
func checkIP(in, value string, routableOnly bool, rules Rules) error {
	parts := strings.Split(value, ".")
	if len(parts) != 4 {
		return broken(in, RuleIPv4, "an IP address is four dot-separated octets 0-255")
	}
	octets := make([]int, 4)
	for i, p := range parts {
		if p == "*" {
			octets[i] = -1
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 || (len(p) > 1 && p[0] == '0') {
			return broken(in, RuleIPv4, "octet %d (%q) is not a number 0-255", i+1, p)
		}
		octets[i] = n
	}
	if octets[0] < 0 {
		return broken(in, RuleWildcard, "the first octet cannot be a wildcard")
	}
	if rules.RelaxIP {
		return nil
	}
	first := 1 // the first octet that may be '*'
	switch w := octets[0]; {
	case w >= 192:
		first = 3
	case w >= 128:
		first = 2
	}
	for i := 1; i < first; i++ {
		if octets[i] < 0 {
			return broken(in, RuleWildcard, "with a first octet of %d, only octets %d-4 may be '*'", octets[0], first+1)
		}
	}
	if routableOnly && !routable(octets) {
		return broken(in, RuleRoutable, "AMZN_EIP takes a routable (public) address, not 10/8, 172.16/12, 192.168/16 or 127.0.0.1")
	}
	return nil
}

// routable reports whether a (possibly wildcarded) address lies outside the private
// ranges and is not localhost. The wildcard rules make the answer the same for every
// address the pattern covers.
func routable(o []int) bool {
	switch {
	case o[0] == 10:
		return false
	case o[0] == 172 && o[1] >= 16 && o[1] <= 31:
		return false
	case o[0] == 192 && o[1] == 168:
		return false
	case o[0] == 127 && o[1] == 0 && o[2] == 0 && o[3] == 1:
		return false
	}
	return true
}

// Kind is the host ID's kind as license models list them.
func (h HostID) Kind() string {
	if h.Vendor {
		return KindVendorDefined
	}
	if h.Type == HostInternet && h.Prefix == "" {
		parts := strings.Split(h.Value, ".")
		o := make([]int, 4)
		for i, p := range parts {
			if n, err := strconv.Atoi(p); err == nil {
				o[i] = n
			}
		}
		if routable(o) {
			return KindInternetRoutable
		}
		return KindInternetNonRoutable
	}
	return h.Prefix + h.Type
}

// CheckRole applies the rules that depend on what the host does: DEMO, AMZN_AMI and
// AMZN_IID lock node-locked licenses only; virtualization prefixes and AMZN_EIP name
// license servers only.
func (h HostID) CheckRole(role Role) error {
	switch {
	case role == RoleServer && (h.Type == HostDemo || h.Type == HostAmazonAMI || h.Type == HostAmazonIID):
		return broken(h.String(), RuleNodeOnly, "%s locks node-locked licenses only, never a license server", h.Type)
	case role == RoleNodelocked && (h.Prefix != "" || h.Type == HostAmazonEIP):
		return broken(h.String(), RuleServerOnly, "%s names license servers only", h.Prefix+h.Type)
	}
	return nil
}

// CheckAllowed refuses a host ID whose kind a license model does not list; an empty
// list allows every kind, and INTERNET both address ranges.
func (h HostID) CheckAllowed(kinds []string) error {
	kind := h.Kind()
	if len(kinds) == 0 || slices.Contains(kinds, kind) ||
		(slices.Contains(kinds, HostInternet) && (kind == KindInternetRoutable || kind == KindInternetNonRoutable)) {
		return nil
	}
	return broken(h.String(), RuleKindForbidden, "this license model takes %s host IDs, not %s", strings.Join(kinds, ", "), h.Kind())
}

// CheckTriad applies the three-server redundancy rules: three real hosts sharing one
// virtualization prefix (or none), none of them AMZN_EIP.
func CheckTriad(hosts []HostID) error {
	if len(hosts) != 3 {
		return broken(fmt.Sprint(hosts), RuleTriadSize, "a redundant server triad is exactly three hosts, not %d", len(hosts))
	}
	for _, h := range hosts {
		switch {
		case h.Type == HostAmazonEIP:
			return broken(h.String(), RuleTriadNoEIP, "AMZN_EIP cannot be used with three-server redundancy")
		case h.Type == HostAny || h.Type == HostDemo:
			return broken(h.String(), RuleTriadNoAny, "a triad's servers need real host IDs, not %s", h.Type)
		case h.Prefix != hosts[0].Prefix:
			return broken(h.String(), RuleTriadPrefix, "all three servers of a triad use the same virtualization prefix (%q vs %q)", hosts[0].Prefix, h.Prefix)
		}
	}
	return nil
}

// String renders the host ID as it appears in a license file.
func (h HostID) String() string {
	switch h.Type {
	case HostAny, HostDemo:
		return h.Type
	case HostEther:
		if h.Prefix == "" {
			return h.Value
		}
	}
	return h.Prefix + h.Type + "=" + h.Value
}

// IsZero reports whether h is the zero host ID.
func (h HostID) IsZero() bool { return h.Type == "" }

// ServerName is the host name written on a SERVER line.
func (h HostID) ServerName() string {
	if h.Type == HostHostname && !strings.Contains(h.Value, "*") {
		return h.Value
	}
	return "this_host"
}
