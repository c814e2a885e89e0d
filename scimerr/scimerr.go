// Package scimerr names the SCIM error types (the "scimType" of an error
// response, RFC 7644 §3.12 Table 9, and RFC 9865 §2.3 for cursors) as typed
// constants, shared by every package that produces SCIM errors (filterxlate,
// mapping, directory, gateway). It is a leaf: it imports nothing.
package scimerr

// Type is a SCIM error type ("scimType"). The zero value means none: the
// status alone describes the error (RFC 7644 §3.12 gives types for 400 and
// 409 only).
type Type string

// RFC 7644 §3.12, Table 9 (with the statuses the RFC gives them).
const (
	// InvalidFilter (400): the filter syntax is invalid, or an attribute or
	// operator is not supported.
	InvalidFilter Type = "invalidFilter"
	// TooMany (400): the filter matches more resources than the server will
	// process or return; narrow it.
	TooMany Type = "tooMany"
	// Uniqueness (409): one or more of the attribute values are already in use
	// or reserved.
	Uniqueness Type = "uniqueness"
	// Mutability (400): the change is incompatible with the attribute's
	// mutability (e.g. a readOnly or an immutable attribute).
	Mutability Type = "mutability"
	// InvalidSyntax (400): the request body is not valid JSON, or does not
	// conform to the request schema.
	InvalidSyntax Type = "invalidSyntax"
	// InvalidPath (400): the "path" attribute is invalid or malformed.
	InvalidPath Type = "invalidPath"
	// NoTarget (400): the path, or its value filter, selects nothing.
	NoTarget Type = "noTarget"
	// InvalidValue (400): a required value is missing, or a value is not
	// compatible with the operation or the attribute's type.
	InvalidValue Type = "invalidValue"
	// InvalidVers (400): the SCIM protocol version is not supported.
	InvalidVers Type = "invalidVers"
	// Sensitive (403): the request cannot be completed because of sensitive
	// information in the URI (e.g. a filter in a query string).
	Sensitive Type = "sensitive"
)

// RFC 9865 §2.3 (cursor-based pagination).
const (
	// InvalidCursor (400): the cursor is not one the service issued for this list.
	InvalidCursor Type = "invalidCursor"
	// ExpiredCursor (400): the cursor has expired.
	ExpiredCursor Type = "expiredCursor"
)

// Bulk (RFC 7644 §3.7.4).
const (
	// TooLarge (413): a bulk request exceeds the service provider's
	// maxOperations or maxPayloadSize (advertised in /ServiceProviderConfig).
	// RFC 7644 §3.7.4 requires the 413 status and shows its error without
	// a scimType; Table 9 names none for it. The gateway adds this
	// one so that a client can tell the bulk limits from a 413 of a proxy in
	// front of it.
	TooLarge Type = "tooLarge"
)
