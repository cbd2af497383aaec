// Package openapi ships the merged OpenAPI (Swagger 2.0) document of Tessera's REST
// API, generated from the protos and proto/tessera/http.yaml.
package openapi

import _ "embed"

// Document is the OpenAPI document as JSON.
//
//go:embed tessera.swagger.json
var Document []byte
