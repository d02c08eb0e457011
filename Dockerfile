# The egresslab image: the static binary alone (CGO_ENABLED=0), FROM
# scratch, so that it is built locally with nothing to pull. `make image`
# builds it from a context holding the binary and an empty tmp folder
# (serve writes the lab's root there when it has no --ca-dir).
FROM scratch
COPY tmp /tmp
COPY egresslab /egresslab
ENTRYPOINT ["/egresslab"]
