package app

import (
	"fmt"
	"regexp"
)

var (
	featureName    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,29}$`)
	featureVersion = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6}){0,3}$`)
)

func fieldIndex(list string, i int, field string) string {
	if field == "" {
		return fmt.Sprintf("%s[%d]", list, i)
	}
	return fmt.Sprintf("%s[%d].%s", list, i, field)
}
