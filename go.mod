module github.com/coattailcapital/ctc

go 1.26

require (
	github.com/google/go-cmp v0.7.0
	github.com/google/uuid v1.6.0
	pgregory.net/rapid v1.3.0
)
