package app

import (
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
)

// The cloud server admin password rule names every rule a password breaks
// (SPEC DEV-13).
func TestAdminPasswordRules_DEV13(t *testing.T) {
	assert.Empty(t, AdminPasswordRules("Secret-42"))
	assert.Empty(t, AdminPasswordRules("aB3{"+strings.Repeat("x", 26)), "30 characters")
	for _, s := range strings.Split(AdminPasswordSpecials, "") {
		assert.Empty(t, AdminPasswordRules("Abcdef1"+s), "special %q", s)
	}
	assert.Len(t, AdminPasswordRules("aB3{"+strings.Repeat("x", 27)), 1, "31 characters")
	assert.Equal(t, []string{
		"must be 8 to 30 characters long", "must contain an upper-case letter (A-Z)", "must contain a digit (0-9)",
		"must contain one of ( ^ * $ - + ? _ & = ! % { } / #", "must not contain spaces",
	}, AdminPasswordRules("a b"))
	assert.Equal(t, []string{"may contain only letters A-Z and a-z, digits and ( ^ * $ - + ? _ & = ! % { } / #"}, AdminPasswordRules("Secret-42@"))
	assert.Len(t, AdminPasswordRules(""), 5, "length, upper, lower, digit, special")
	assert.NotEmpty(t, AdminPasswordRules("Sécret-42"), "non-ASCII letters are refused")
}

// FuzzAdminPasswordRules: the rule never panics, and a password it accepts holds
// every property of the rule, checked independently here.
func FuzzAdminPasswordRules(f *testing.F) {
	for _, s := range []string{"Secret-42", "short", "NoDigits!", "a b C 1 #", "\x00Aa1#aaaa", "Ünïcode-1a", strings.Repeat("Aa1#", 10)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		broken := AdminPasswordRules(pw)
		n := len([]rune(pw))
		has := func(pred func(rune) bool) bool { return strings.IndexFunc(pw, pred) >= 0 }
		ok := n >= 8 && n <= 30 &&
			has(func(r rune) bool { return r >= 'A' && r <= 'Z' }) &&
			has(func(r rune) bool { return r >= 'a' && r <= 'z' }) &&
			has(func(r rune) bool { return r >= '0' && r <= '9' }) &&
			has(func(r rune) bool { return strings.ContainsRune(AdminPasswordSpecials, r) }) &&
			!has(func(r rune) bool {
				ascii := r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))
				return !ascii && !strings.ContainsRune(AdminPasswordSpecials, r)
			})
		if ok != (len(broken) == 0) {
			t.Fatalf("%q: rule says %v, independent check says acceptable=%v", pw, broken, ok)
		}
	})
}
