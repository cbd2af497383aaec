package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Every built-in ID type has its own rules and normal form (SPEC DEV-1).
func TestBuiltInIDTypes_DEV1(t *testing.T) {
	cases := []struct {
		idType, in, want string // want "": refused
	}{
		{IDEther, "00:1A:2b:3C:4d:5E", "001a2b3c4d5e"},
		{IDEther, "00-1a-2b-3c-4d-5e", "001a2b3c4d5e"},
		{IDEther, "001a2b3c4d5e", "001a2b3c4d5e"},
		{IDEther, "001A.2B3C.4D5E", "001a2b3c4d5e"},
		{IDEther, "001a2b3c4d5", ""},
		{IDEther, "001a2b3c4d5g", ""},
		{IDInternet, "192.168.1.20", "192.168.1.20"},
		{IDInternet, "192.168.1.*", ""},
		{IDInternet, "300.1.1.1", ""},
		{IDInternet, "10.0.0", ""},
		{IDInternet6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
		{IDInternet6, "fe80::1%eth0", ""},
		{IDInternet6, "192.168.1.1", ""},
		{IDInternet6, "::ffff:192.168.1.1", ""},
		{IDFlexID9, "9-1A2B3C4D", "9-1a2b3c4d"},
		{IDFlexID9, "1A2B3C4D", "9-1a2b3c4d"},
		{IDFlexID9, "10-1a2b3c4d", ""},
		{IDFlexID9, "9-abc", ""},
		{IDFlexID10, "10-00ff00ff", "10-00ff00ff"},
		{IDFlexID10, "deadbeef", "10-deadbeef"},
		{IDString, "  any text, even spaces inside  ", "any text, even spaces inside"},
		{IDString, "", ""},
		{IDString, "bell\a", ""},
		{IDString, strings.Repeat("x", 1025), ""},
		{IDUser, "jdoe@corp", "jdoe@corp"},
		{IDUser, "j doe", ""},
		{IDVMUUID, "4c4c4544-0044-4b10-8054-b4c04f4e4a31", "4C4C4544-0044-4B10-8054-B4C04F4E4A31"},
		{IDVMUUID, "4c4c4544-0044-4b10-8054", ""},
		{IDTolerant, "ab12-cd34-ef56", "AB12CD34EF56"},
		{IDTolerant, "ab12--cd34", ""},
		{IDTolerant, "xyz12345", ""},
		{IDExtended, "hostname=build-7", "HOSTNAME=build-7"},
		{IDExtended, "ETHER=00:11:22:33:44:55", "001122334455"},
		{IDExtended, "ANY", ""},
		{IDExtended, "NOTATYPE", ""},
		{IDContainerID, "ABCDEF012345", "abcdef012345"},
		{IDContainerID, strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{IDContainerID, strings.Repeat("a", 20), ""},
	}
	for _, c := range cases {
		got, err := NormalizeID(IDType{Name: c.idType}, c.in, licfile.Rules{})
		if c.want == "" {
			require.Error(t, err, "%s %q", c.idType, c.in)
			continue
		}
		if assert.NoError(t, err, "%s %q", c.idType, c.in) {
			assert.Equal(t, c.want, got, "%s %q", c.idType, c.in)
		}
	}
	names := map[string]bool{}
	for _, b := range BuiltInIDTypes() {
		names[b.Name] = true
	}
	for _, n := range []string{IDEther, IDInternet, IDInternet6, IDFlexID9, IDFlexID10, IDString, IDUser, IDVMUUID, IDTolerant, IDExtended, IDContainerID} {
		assert.True(t, names[n], n)
	}
}

func TestCustomIDTypes_DEV1(t *testing.T) {
	serial := IDType{Name: "SERIAL", Pattern: `SN-[0-9A-F]{6}`, CaseInsensitive: true}
	got, err := NormalizeID(serial, "sn-00abcd", licfile.Rules{})
	require.NoError(t, err)
	assert.Equal(t, "SN-00ABCD", got, "case-insensitive types store upper case")
	_, err = NormalizeID(serial, "xSN-00ABCD", licfile.Rules{})
	require.Error(t, err, "the pattern matches the whole value")
	strict := IDType{Name: "LOT", Pattern: `lot[0-9]+`}
	_, err = NormalizeID(strict, "LOT1", licfile.Rules{})
	require.Error(t, err, "case-sensitive types compare as written")

	for _, c := range []struct {
		t     IDType
		field string
	}{
		{IDType{Name: "ETHER", Pattern: "x"}, "device_id_type.id_type"},
		{IDType{Name: "lower", Pattern: "x"}, "device_id_type.id_type"},
		{IDType{Name: "9LIVES", Pattern: "x"}, "device_id_type.id_type"},
		{IDType{Name: "OK", Pattern: ""}, "device_id_type.pattern"},
		{IDType{Name: "OK", Pattern: "(unclosed"}, "device_id_type.pattern"},
		{IDType{Name: "OK", Pattern: `(a{1000}){1000}`}, "device_id_type.pattern"},
		{IDType{Name: "OK", Pattern: `[a-z]{900}[0-9]{900}x{900}`}, "device_id_type.pattern"},
	} {
		var v errs.Violations
		if _, clash := builtIn(c.t.Name); clash || !idTypeName.MatchString(c.t.Name) {
			v.Add("device_id_type.id_type", "bad")
		}
		checkPattern(&v, "device_id_type.pattern", c.t)
		e, ok := errs.As(v.Err())
		require.True(t, ok, "%+v is refused", c.t)
		assert.Equal(t, c.field, e.Violations[0].Field, "%+v", c.t)
	}
	var v errs.Violations
	checkPattern(&v, "p", IDType{Name: "OK", Pattern: `[A-Z]{2}-[0-9]{4,8}`})
	assert.NoError(t, v.Err())
}

// FuzzDeviceIDTypes: no value makes a validator panic, and every accepted value
// normalises to a value that is accepted unchanged.
func FuzzDeviceIDTypes(f *testing.F) {
	for _, s := range []string{
		"00:1a:2b:3c:4d:5e", "10.1.2.3", "::1", "9-abcd", "10-abcd", "x", "HOSTNAME=a", "SN-00AB",
		"4c4c4544-0044-4b10-8054-b4c04f4e4a31", "ab-cd-ef-12", strings.Repeat("f", 64), "ETHER=001122334455", "\xff", " a ",
	} {
		f.Add(s)
	}
	types := BuiltInIDTypes()
	types = append(types, IDType{Name: "SERIAL", Pattern: `(?:SN|sn)-[0-9A-Fa-f]{2,8}`, CaseInsensitive: true}, IDType{Name: "ANYTHING", Pattern: `.+`})
	f.Fuzz(func(t *testing.T, value string) {
		for _, typ := range types {
			for _, rules := range []licfile.Rules{{}, {RelaxIP: true}} {
				n, err := NormalizeID(typ, value, rules)
				if err != nil {
					continue
				}
				again, err := NormalizeID(typ, n, rules)
				if err != nil {
					t.Fatalf("%s: %q normalised to %q, which is refused: %v", typ.Name, value, n, err)
				}
				if again != n {
					t.Fatalf("%s: %q normalised to %q, then to %q", typ.Name, value, n, again)
				}
				if n == "" || len(n) > maxIDLen || !printable(n) {
					t.Fatalf("%s: %q normalised to the unprintable or empty %q", typ.Name, value, n)
				}
			}
		}
	})
}

// FuzzIDTypePattern: no publisher pattern makes the checks panic, and an accepted
// one compiles and matches in bounded work.
func FuzzIDTypePattern(f *testing.F) {
	for _, s := range []string{`[A-Z]{2}-[0-9]+`, `(a|b)*c`, `(a{1000}){1000}`, `\p{Greek}+`, `(?i)x`, `[`, `a**`} {
		f.Add(s, "AB-12", true)
	}
	f.Fuzz(func(t *testing.T, pattern, value string, fold bool) {
		if len(pattern) > 512 {
			return
		}
		typ := IDType{Name: "FUZZ", Pattern: pattern, CaseInsensitive: fold}
		var v errs.Violations
		checkPattern(&v, "pattern", typ)
		if v.Err() != nil {
			return
		}
		if _, err := customPattern(typ); err != nil {
			t.Fatalf("accepted pattern %q does not compile: %v", pattern, err)
		}
		n, err := NormalizeID(typ, value, licfile.Rules{})
		if err == nil {
			if again, err := NormalizeID(typ, n, licfile.Rules{}); err != nil || again != n {
				t.Fatalf("%q normalised to %q, then %q (%v)", value, n, again, err)
			}
		}
	})
}
