package app

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestTokenNameProblem_ACC17(t *testing.T) {
	for _, ok := range []string{"ci-pipeline", "nightly build", "Ünïcödé-ok", "abcde", strings.Repeat("x", 25), "a_b-c (prod)"} {
		require.Empty(t, TokenNameProblem(ok), ok)
	}
	for _, bad := range []string{
		"abcd", strings.Repeat("x", 26), "a*bcde", "a<bcde", "a>bcde", "a+bcde", "a$bcde", "a?bcde", "a.bcde", "a^bcde",
		"a|bcde", "a%bcde", "a]bcde", `a\bcde`, `a\\\\bcd`, "&lt;b&gt;x", "&#60;script", "javascript:x", "x onload=y", "tab\there", " lead", "trail ", "\xff\xfe\xfd\xfc\xfb",
	} {
		require.NotEmpty(t, TokenNameProblem(bad), "%q", bad)
	}
}

func FuzzTokenNameProblem(f *testing.F) {
	for _, s := range []string{"ci-pipeline", "abcd", "a<b>c", "&amp;xx", "x\\\\\\\\y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if TokenNameProblem(name) != "" {
			return
		}
		n := utf8.RuneCountInString(name)
		if n < 5 || n > 25 || strings.ContainsAny(name, forbiddenInTokenNames) || !utf8.ValidString(name) {
			t.Fatalf("accepted %q", name)
		}
	})
}
