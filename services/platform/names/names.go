// Package names parses AIP resource names ("collection/{id}") at the API edge.
package names

import (
	"strings"

	"github.com/tessera-dev/tessera/services/platform/errs"
)

// ID extracts the ID from "collection/{id}", naming field in the error otherwise.
func ID(field, name, collection string) (string, error) {
	id, ok := strings.CutPrefix(name, collection+"/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", errs.Invalid(field, "must look like %s/{id}", collection)
	}
	return id, nil
}

// OptionalID is ID for a field that may be empty (the use case then says whether it
// is required).
func OptionalID(field, name, collection string) (string, error) {
	if name == "" {
		return "", nil
	}
	return ID(field, name, collection)
}
