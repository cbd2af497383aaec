package licfile

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHostIDTypes_LIC3: every listed host ID type parses, normalises and renders back
// to itself; every rule refuses what breaks it and names the rule.
func TestHostIDTypes_LIC3(t *testing.T) {
	ok := []struct {
		in   string
		want HostID
		kind string
	}{
		{"ANY", HostID{Type: HostAny}, "ANY"},
		{"demo", HostID{Type: HostDemo}, "DEMO"},
		{"0123456789AB", HostID{Type: HostEther, Value: "0123456789ab"}, "ETHER"},
		{"ETHER=01:23:45:67:89:ab", HostID{Type: HostEther, Value: "0123456789ab"}, "ETHER"},
		{"TPM_ID=ab12c-3de4f-56789-XYZ01", HostID{Type: HostTPM, Value: "ab12c-3de4f-56789-XYZ01"}, "TPM_ID"},
		{"LONG=0A1B2C3D", HostID{Type: HostLong, Value: "0a1b2c3d"}, "LONG"},
		{"0A1B2C3D", HostID{Type: HostLong, Value: "0a1b2c3d"}, "LONG"},
		{" 0a1b2c3d ", HostID{Type: HostLong, Value: "0a1b2c3d"}, "LONG"},
		{"USER=alice", HostID{Type: HostUser, Value: "alice"}, "USER"},
		{"hostname=build.example.com", HostID{Type: HostHostname, Value: "build.example.com"}, "HOSTNAME"},
		{"HOSTNAME=build-*", HostID{Type: HostHostname, Value: "build-*"}, "HOSTNAME"},
		{"DISPLAY=:0.0", HostID{Type: HostDisplay, Value: ":0.0"}, "DISPLAY"},
		{"INTERNET=8.8.4.4", HostID{Type: HostInternet, Value: "8.8.4.4"}, KindInternetRoutable},
		{"INTERNET=10.1.2.3", HostID{Type: HostInternet, Value: "10.1.2.3"}, KindInternetNonRoutable},
		{"INTERNET=100.*.*.*", HostID{Type: HostInternet, Value: "100.*.*.*"}, KindInternetRoutable},
		{"INTERNET=150.1.*.*", HostID{Type: HostInternet, Value: "150.1.*.*"}, KindInternetRoutable},
		{"INTERNET=172.20.*.*", HostID{Type: HostInternet, Value: "172.20.*.*"}, KindInternetNonRoutable},
		{"INTERNET=192.168.7.*", HostID{Type: HostInternet, Value: "192.168.7.*"}, KindInternetNonRoutable},
		{"INTERNET=127.0.0.1", HostID{Type: HostInternet, Value: "127.0.0.1"}, KindInternetNonRoutable},
		{"DISK_SERIAL_NUM=3e2d1a9f", HostID{Type: HostDiskSerial, Value: "3e2d1a9f"}, "DISK_SERIAL_NUM"},
		{"FLEXID=9-1a2b3c4d", HostID{Type: HostFlexID, Value: "9-1a2b3c4d"}, "FLEXID"},
		{"ID=1234-5678-9", HostID{Type: HostSerial, Value: "1234-5678-9"}, "ID"},
		{"COMPOSITE=0a1b2c3d4e5f", HostID{Type: HostComposite, Value: "0A1B2C3D4E5F"}, "COMPOSITE"},
		{"MYDONGLE=abc-123", HostID{Type: "MYDONGLE", Value: "abc-123", Vendor: true}, KindVendorDefined},
		{"PHY_HOSTNAME=lic1", HostID{Prefix: "PHY_", Type: HostHostname, Value: "lic1"}, "PHY_HOSTNAME"},
		{"VM_UUID=4c4c4544-0042-3910-8058-b8c04f4a4d32", HostID{Prefix: "VM_", Type: HostUUID, Value: "4C4C4544-0042-3910-8058-B8C04F4A4D32"}, "VM_UUID"},
		{"VMW_ETHER=0123456789ab", HostID{Prefix: "VMW_", Type: HostEther, Value: "0123456789ab"}, "VMW_ETHER"},
		{"HPV_VSN=5a6b7c8d", HostID{Prefix: "HPV_", Type: HostVSN, Value: "5a6b7c8d"}, "HPV_VSN"},
		{"LMB_FLEXID=10-abcd1234", HostID{Prefix: "LMB_", Type: HostFlexID, Value: "10-abcd1234"}, "LMB_FLEXID"},
		{"AMZN_EIP=54.12.*.*", HostID{Type: HostAmazonEIP, Value: "54.12.*.*"}, "AMZN_EIP"},
		{"AMZN_AMI=ami-0a1b2c3d", HostID{Type: HostAmazonAMI, Value: "ami-0a1b2c3d"}, "AMZN_AMI"},
		{"AMZN_IID=i-0123456789abcdef0", HostID{Type: HostAmazonIID, Value: "i-0123456789abcdef0"}, "AMZN_IID"},
	}
	for _, c := range ok {
		got, err := ParseHostID(c.in, Rules{})
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
		require.Equal(t, c.kind, got.Kind(), c.in)
		again, err := ParseHostID(got.String(), Rules{})
		require.NoError(t, err, "%s renders as %s, which parses", c.in, got)
		require.Equal(t, got, again)
	}

	bad := []struct{ in, rule string }{
		{"dogma", RuleSyntax},
		{"HOSTNAME=", RuleSyntax},
		{"ANY=1", RuleSyntax},
		{"ETHER=0123456789", RuleEther},
		{"TPM_ID=ab12c-3de4f-56789", RuleTPM},
		{"TPM_ID=ab12c-3de4f-56789-XYZ0!", RuleTPM},
		{"LONG=0A1B2C3", RuleLong},
		{"0A1B2C3", RuleSyntax},
		{"0A1B2C3D4", RuleSyntax},
		{"0A1B2C3G", RuleSyntax},
		{"COMPOSITE=0a1b2c3d4e5g", RuleComposite},
		{"HOSTNAME=-bad", RuleValue},
		{"USER=a b", RuleValue},
		{"INTERNET=1.2.3", RuleIPv4},
		{"INTERNET=1.2.3.256", RuleIPv4},
		{"INTERNET=01.2.3.4", RuleIPv4},
		{"INTERNET=*.2.3.4", RuleWildcard},
		{"INTERNET=150.*.1.1", RuleWildcard},
		{"INTERNET=200.1.*.1", RuleWildcard},
		{"AMZN_EIP=10.0.0.1", RuleRoutable},
		{"AMZN_EIP=192.168.1.*", RuleRoutable},
		{"AMZN_AMI=ami-XYZ", RuleAmazon},
		{"AMZN_IID=i-123", RuleAmazon},
		{"ID=12a", RuleValue},
		{"FLEXID=dongle", RuleFlexID},
		{"LMB_FLEXID=7-abcd1234", RulePrefixBase},
		{"VM_ETHER=0123456789ab", RulePrefixBase},
		{"PHY_UUID=4c4c4544-0042-3910-8058-b8c04f4a4d32", RulePrefixBase},
		{"UUID=4c4c4544-0042-3910-8058-b8c04f4a4d32", RulePrefixBase},
		{"VSN=5a6b7c8d", RulePrefixBase},
		{"VM_UUID=4c4c4544", RuleUUID},
		{"VMW_HOSTNAME=lic-*", RulePrefixNoWild},
		{"HPV_HOSTNAME=*", RulePrefixNoWild},
		{"LMB_HOSTNAME=a*", RulePrefixNoWild},
		{"BAD-NAME=x", RuleUnknownType},
		{"AMZN_XYZ=1", RuleUnknownType},
	}
	for _, c := range bad {
		_, err := ParseHostID(c.in, Rules{})
		var he *HostIDError
		require.ErrorAs(t, err, &he, c.in)
		require.Equal(t, c.rule, he.Rule, "%s: %v", c.in, err)
		require.NotEmpty(t, he.Message)
	}
}

// TestRelaxedIPValidation_LIC3: a producer that relaxes IP validation gets the
// syntax check only.
func TestRelaxedIPValidation_LIC3(t *testing.T) {
	for _, in := range []string{"INTERNET=150.*.1.1", "AMZN_EIP=10.0.0.1", "INTERNET=200.*.*.*"} {
		_, err := ParseHostID(in, Rules{})
		require.Error(t, err, in)
		_, err = ParseHostID(in, Rules{RelaxIP: true})
		require.NoError(t, err, in)
	}
	_, err := ParseHostID("INTERNET=1.2.3", Rules{RelaxIP: true})
	require.Error(t, err, "the syntax still counts")
}

// TestHostRolesAndTriads_LIC3: what may lock which role, and the triad rules.
func TestHostRolesAndTriads_LIC3(t *testing.T) {
	parse := func(s string) HostID {
		h, err := ParseHostID(s, Rules{})
		require.NoError(t, err)
		return h
	}
	rule := func(err error) string {
		var he *HostIDError
		require.ErrorAs(t, err, &he)
		return he.Rule
	}
	require.Equal(t, RuleNodeOnly, rule(parse("DEMO").CheckRole(RoleServer)))
	require.Equal(t, RuleNodeOnly, rule(parse("AMZN_IID=i-0a1b2c3d").CheckRole(RoleServer)))
	require.Equal(t, RuleServerOnly, rule(parse("VMW_HOSTNAME=lic1").CheckRole(RoleNodelocked)))
	require.Equal(t, RuleServerOnly, rule(parse("AMZN_EIP=54.1.2.3").CheckRole(RoleNodelocked)))
	require.NoError(t, parse("DEMO").CheckRole(RoleNodelocked))
	require.NoError(t, parse("VMW_HOSTNAME=lic1").CheckRole(RoleServer))

	require.NoError(t, parse("INTERNET=10.0.0.1").CheckAllowed([]string{KindInternetNonRoutable}))
	require.Equal(t, RuleKindForbidden, rule(parse("INTERNET=8.8.8.8").CheckAllowed([]string{KindInternetNonRoutable})))
	require.NoError(t, parse("USER=x").CheckAllowed(nil))

	require.NoError(t, CheckTriad([]HostID{parse("PHY_HOSTNAME=a"), parse("PHY_ETHER=0123456789ab"), parse("PHY_USER=c")}))
	require.NoError(t, CheckTriad([]HostID{parse("HOSTNAME=a"), parse("HOSTNAME=b"), parse("HOSTNAME=c")}))
	require.Equal(t, RuleTriadPrefix, rule(CheckTriad([]HostID{parse("PHY_HOSTNAME=a"), parse("VMW_HOSTNAME=b"), parse("PHY_HOSTNAME=c")})))
	require.Equal(t, RuleTriadPrefix, rule(CheckTriad([]HostID{parse("HOSTNAME=a"), parse("HOSTNAME=b"), parse("LMB_HOSTNAME=c")})))
	require.Equal(t, RuleTriadNoEIP, rule(CheckTriad([]HostID{parse("HOSTNAME=a"), parse("AMZN_EIP=54.1.2.3"), parse("HOSTNAME=c")})))
	require.Equal(t, RuleTriadNoAny, rule(CheckTriad([]HostID{parse("HOSTNAME=a"), parse("ANY"), parse("HOSTNAME=c")})))
	require.Equal(t, RuleTriadSize, rule(CheckTriad([]HostID{parse("HOSTNAME=a"), parse("HOSTNAME=b")})))
}

func FuzzParseHostID(f *testing.F) {
	for _, s := range []string{
		"HOSTNAME=dogma", "0123456789ab", "ETHER=01:23:45:67:89:ab", "ANY", "DEMO", "INTERNET=1.2.*.*",
		"TPM_ID=ab12c-3de4f-56789-XYZ01", "VM_UUID=4c4c4544-0042-3910-8058-b8c04f4a4d32", "AMZN_EIP=54.1.2.3", "X=y", "=", "",
		"0a1b2c3d", "LONG=0A1B2C3D",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, relax bool) {
		h, err := ParseHostID(s, Rules{RelaxIP: relax})
		if err != nil {
			var he *HostIDError
			if !errors.As(err, &he) || he.Rule == "" {
				t.Fatalf("%q: error without a rule: %v", s, err)
			}
			return
		}
		again, err := ParseHostID(h.String(), Rules{RelaxIP: relax})
		if err != nil || again != h {
			t.Fatalf("%q parsed to %+v, which renders as %q and parses to %+v (%v)", s, h, h.String(), again, err)
		}
		_ = h.Kind()
	})
}
