package app

import (
	"encoding/base64"

	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// page validates list paging: the page size (default 50, at most 1000) and the
// position after which the page starts.
func page(size int, token string) (int, string, error) {
	if size < 0 {
		return 0, "", errs.Invalid("page_size", "must not be negative")
	}
	if size == 0 {
		size = 50
	}
	size = min(size, 1000)
	if token == "" {
		return size, "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 || !filter.PlainText(string(b)) { // the key reaches SQL
		return 0, "", errs.Invalid("page_token", "is not a token this service issued")
	}
	return size, string(b), nil
}

// nextPage is the page token that continues after the key.
func nextPage(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }
