// Package licfile writes, parses and verifies Tessera license files: FlexNet-style
// text (SERVER, VENDOR, INCREMENT lines) whose every INCREMENT line carries an
// Ed25519 signature over its canonical form. It has no dependency on a running
// Tessera, so partner systems and `tessctl license verify` can check licenses offline.
package licfile

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
)

// Host ID types.
const (
	HostAny          = "ANY"
	HostHostname     = "HOSTNAME"
	HostEther        = "ETHER"
	HostInternet     = "INTERNET"
	HostIDString     = "ID_STRING"
	HostVendorString = "VENDOR_STRING"
	HostDiskSerial   = "DISK_SERIAL_NUM"
)

// HostID is what a license is locked to.
type HostID struct {
	Type  string
	Value string
}

// ErrHostID is returned for malformed host IDs.
var ErrHostID = errors.New("invalid host ID")

var (
	hexEther  = regexp.MustCompile(`^[0-9a-fA-F]{12}$`)
	hostname  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
	freeValue = regexp.MustCompile(`^[A-Za-z0-9._:@+-]{1,64}$`)
)

// ParseHostID reads "TYPE=value", "ANY", or 12 hex digits (an Ethernet address).
func ParseHostID(s string) (HostID, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, HostAny) {
		return HostID{Type: HostAny}, nil
	}
	if hexEther.MatchString(s) {
		return HostID{Type: HostEther, Value: strings.ToLower(s)}, nil
	}
	typ, value, ok := strings.Cut(s, "=")
	if !ok {
		return HostID{}, fmt.Errorf("%w: %q is neither TYPE=value, ANY nor 12 hex digits", ErrHostID, s)
	}
	typ = strings.ToUpper(typ)
	switch typ {
	case HostHostname:
		if len(value) > 253 || !hostname.MatchString(value) {
			return HostID{}, fmt.Errorf("%w: %q is not a host name", ErrHostID, value)
		}
	case HostEther:
		value = strings.ReplaceAll(strings.ReplaceAll(value, ":", ""), "-", "")
		if !hexEther.MatchString(value) {
			return HostID{}, fmt.Errorf("%w: ETHER needs 12 hex digits", ErrHostID)
		}
		value = strings.ToLower(value)
	case HostInternet:
		if ip := net.ParseIP(value); ip == nil || ip.To4() == nil {
			return HostID{}, fmt.Errorf("%w: INTERNET needs an IPv4 address", ErrHostID)
		}
	case HostIDString, HostVendorString, HostDiskSerial:
		if !freeValue.MatchString(value) {
			return HostID{}, fmt.Errorf("%w: %s needs 1-64 letters, digits or . _ : @ + -", ErrHostID, typ)
		}
	default:
		return HostID{}, fmt.Errorf("%w: unknown host ID type %q", ErrHostID, typ)
	}
	return HostID{Type: typ, Value: value}, nil
}

// String renders the host ID as it appears in a license file.
func (h HostID) String() string {
	switch h.Type {
	case HostAny:
		return HostAny
	case HostEther:
		return h.Value
	}
	return h.Type + "=" + h.Value
}

// ServerName is the host name written on a SERVER line.
func (h HostID) ServerName() string {
	if h.Type == HostHostname {
		return h.Value
	}
	return "this_host"
}
