package harness

// BuildTags are the build tags every build of vigil uses, as the Makefile's
// TAGS: disable_grpc_modules leaves out gRPC's DirectPath, which the GCS
// SDK links unless told not to (vigil talks to GCS over its JSON API).
// The same tags keep the suite's builds of vigil sharing compiles with the
// lint, release and image builds.
const BuildTags = "disable_grpc_modules"
