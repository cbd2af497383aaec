package licfile

import (
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

// Spec is what a license grants.
type Spec struct {
	Vendor   string
	Serial   string // fulfillment ID, written as SN=
	Features []Feature
	// Count is the number of concurrent seats; 0 means uncounted (node-locked).
	Count int64
	// Servers are the license server hosts of a counted license: one, or three for a
	// redundant triad.
	Servers []HostID
	// Port is the servers' TCP port; 0 leaves it to the license server's default.
	Port int
	// NodeHosts are the client hosts a node-locked license is locked to (HOSTID=).
	NodeHosts []HostID
	Issued    time.Time
	Start     time.Time
	Expiry    *time.Time // nil: permanent
	// Attrs are further keywords (NOTICE, ISSUER, BORROW, TS_OK, …), see
	// docs/license-format.md.
	Attrs map[string]string
	// NoUseServer leaves USE_SERVER out of a counted license.
	NoUseServer bool
}

// Signed is a generated license in both forms.
type Signed struct {
	License *License
	Text    string // FlexNet-style text, every INCREMENT signed
	JSON    []byte // the JSON form, signed as a whole
}

var vendorName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,19}$`)

// Build turns a spec into an unsigned license, checking it against the grammar.
func Build(spec Spec) (*License, error) {
	if !vendorName.MatchString(spec.Vendor) {
		return nil, fmt.Errorf("licfile: vendor name %q must be 1-20 letters, digits or '_'", spec.Vendor)
	}
	if len(spec.Features) == 0 {
		return nil, errors.New("licfile: no features to license")
	}
	lic := &License{Vendor: spec.Vendor}
	attrs := map[string]string{"ISSUED": Date(spec.Issued), "START": Date(spec.Start), "SN": spec.Serial}
	for k, v := range spec.Attrs {
		attrs[k] = v
	}
	count := "uncounted"
	if spec.Count > 0 {
		count = strconv.FormatInt(spec.Count, 10)
		if len(spec.Servers) != 1 && len(spec.Servers) != 3 {
			return nil, fmt.Errorf("licfile: a counted license has one server or a triad, not %d", len(spec.Servers))
		}
		for _, h := range spec.Servers {
			lic.Servers = append(lic.Servers, Server{Name: h.ServerName(), HostID: h.String(), Port: spec.Port})
		}
		lic.UseServer = !spec.NoUseServer
	} else if len(spec.NodeHosts) == 0 {
		return nil, errors.New("licfile: an uncounted license needs node-locked hosts")
	}
	if len(spec.NodeHosts) > 0 {
		hosts := make([]string, len(spec.NodeHosts))
		for i, h := range spec.NodeHosts {
			hosts[i] = h.String()
		}
		attrs["HOSTID"] = strings.Join(hosts, " ")
	}
	expiry := "permanent"
	if spec.Expiry != nil {
		expiry = Date(*spec.Expiry)
	}
	for i, f := range spec.Features {
		inc := Increment{Feature: f.Name, Vendor: spec.Vendor, Version: f.Version, Expiry: expiry, Count: count, Attrs: map[string]string{}}
		for k, v := range attrs {
			inc.Attrs[k] = v
		}
		// The serial (fulfillment ID) is unique and the position after the last '/'
		// is digits only, so no two increments of any two licenses share an ID.
		inc.Attrs["ID"] = spec.Serial + "/" + strconv.Itoa(i+1)
		lic.Increments = append(lic.Increments, inc)
	}
	// What Format writes must parse back to the same license: check it now, so a
	// bad value fails generation instead of producing an unverifiable file.
	back, err := Parse(lic.Format(""))
	if err != nil {
		return nil, fmt.Errorf("licfile: %w", err)
	}
	return back, nil
}

// Generate builds, signs and renders the license of spec in both forms.
func Generate(spec Spec, signer Signer) (Signed, error) {
	lic, err := Build(spec)
	if err != nil {
		return Signed{}, err
	}
	doc, err := SignForms(lic, signer)
	if err != nil {
		return Signed{}, err
	}
	return Signed{License: lic, Text: lic.Format("Tessera license " + spec.Serial + ", issued " + Date(spec.Issued)), JSON: doc}, nil
}
