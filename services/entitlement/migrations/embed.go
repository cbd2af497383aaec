// Package migrations holds the entitlement service's schema, applied in order at start-up.
package migrations

import "embed"

// Files are the numbered SQL migrations.
//
//go:embed *.sql
var Files embed.FS
