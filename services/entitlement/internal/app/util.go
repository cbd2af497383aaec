package app

import (
	"context"
	"fmt"
	"regexp"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

var (
	featureName    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,29}$`)
	featureVersion = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6}){0,3}$`)
)

// idFor generates an ID; with a request ID it is derived from it, so a retried create
// produces the same resource.
func idFor(ctx context.Context, prefix, requestID string) string {
	if requestID == "" {
		return ids.New(prefix, 3)
	}
	u := ids.FromKey(authz.MustTenant(ctx), prefix, requestID)
	return fmt.Sprintf("%s-%s", prefix, u.String()[:18])
}

func fieldIndex(list string, i int, field string) string {
	if field == "" {
		return fmt.Sprintf("%s[%d]", list, i)
	}
	return fmt.Sprintf("%s[%d].%s", list, i, field)
}
