module github.com/tessera-dev/tessera/tools

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	github.com/tessera-dev/tessera/services v0.0.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace github.com/tessera-dev/tessera/services => ../services

replace github.com/tessera-dev/tessera/gen => ../gen
