// Package clustertest holds the integration test of the gateway in front of a
// replicated directory: two gateways behind a round-robin proxy, an N-way
// multi-provider OpenLDAP cluster (slapdtest.StartCluster), IdP-like clients,
// and a provider killed and restarted under load; then every acknowledged
// write is compared with what every provider holds. It has no code of its own
// outside the test.
package clustertest
