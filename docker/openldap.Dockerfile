# A demo OpenLDAP (Debian's slapd 2.5) configured exactly as `make dev` and the tests
# configure it (scripts/slapd-up.sh: dc=example,dc=org, memberof, refint, ppolicy).
# For docker/compose.yaml; not a production directory.
FROM docker.io/library/debian:12.12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      slapd ldap-utils openssl ca-certificates && rm -rf /var/lib/apt/lists/*
COPY scripts/slapd-up.sh scripts/slapd-down.sh /opt/slapd/
COPY docker/openldap-entrypoint.sh /opt/slapd/entrypoint.sh
RUN useradd --system --home /var/lib/ldapdemo ldap-demo && mkdir -p /var/lib/ldapdemo && chown ldap-demo /var/lib/ldapdemo
USER ldap-demo
EXPOSE 1389
VOLUME /var/lib/ldapdemo
HEALTHCHECK --interval=5s --timeout=3s --retries=20 CMD ldapsearch -x -H ldap://127.0.0.1:1389 -b "" -s base >/dev/null || exit 1
ENTRYPOINT ["bash", "/opt/slapd/entrypoint.sh"]
