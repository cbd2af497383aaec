// Package ids makes identifiers: readable random IDs for resources and stable IDs
// derived from callers' idempotency keys.
package ids

import (
	"crypto/rand"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// alphabet avoids look-alike characters (0/O, 1/I/L) so IDs can be read out loud.
const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// New returns prefix + "-" + groups of random characters, e.g. "ACT-7KQ2-M9XD-4TPA".
func New(prefix string, groups int) string {
	var b strings.Builder
	b.WriteString(prefix)
	buf := make([]byte, groups*4)
	_, _ = rand.Read(buf)
	for i, c := range buf {
		if i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return b.String()
}

var namespace = uuid.MustParse("6f1c2a3e-6c5b-4f0e-9a57-5b1f8d2c9e10")

// ForRequest returns an ID for a new resource: random without a request ID, and
// derived from tenant and request ID otherwise, so a retried create lands on the row
// the first attempt made.
func ForRequest(tenant, prefix, requestID string) string {
	if requestID == "" {
		return New(prefix, 3)
	}
	return prefix + "-" + FromKey(tenant, prefix, requestID).String()[:18]
}

// FromKey derives a stable UUID from the parts of an idempotency key, so a retry
// lands on the same row.
func FromKey(parts ...string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte(strings.Join(parts, "\x00")))
}

var resourceID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidResourceID reports whether s may be used as a caller-chosen resource ID.
func ValidResourceID(s string) bool { return resourceID.MatchString(s) }

// Resolve returns the ID of a resource being created: the caller's choice when
// valid (a violation on field otherwise), else one derived from the request ID.
func Resolve(v *errs.Violations, field, tenant, prefix, given, requestID string) string {
	if given == "" {
		return ForRequest(tenant, prefix, requestID)
	}
	if !ValidResourceID(given) {
		v.Add(field, "must be 1-64 letters, digits, '.', '_' or '-'")
	}
	return given
}
