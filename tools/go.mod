module github.com/tessera-dev/tessera/tools

go 1.26
