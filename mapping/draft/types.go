package draft

import "strings"

// LDAP syntax OIDs (RFC 4517 §3.3; RFC 4523 §2 for certificates; Active
// Directory's own from [MS-ADTS] 3.1.1.2.2.2) that SCIMType turns into a SCIM
// type other than string.
const (
	syntaxBoolean         = "1.3.6.1.4.1.1466.115.121.1.7"
	syntaxInteger         = "1.3.6.1.4.1.1466.115.121.1.27"
	syntaxGeneralizedTime = "1.3.6.1.4.1.1466.115.121.1.24"
	syntaxDN              = "1.3.6.1.4.1.1466.115.121.1.12"
	syntaxOctetString     = "1.3.6.1.4.1.1466.115.121.1.40"
	syntaxJPEG            = "1.3.6.1.4.1.1466.115.121.1.28"
	syntaxBinary          = "1.3.6.1.4.1.1466.115.121.1.5"  // RFC 2252, historic
	syntaxCertificate     = "1.3.6.1.4.1.1466.115.121.1.8"  // RFC 4523 §2.1
	syntaxCertList        = "1.3.6.1.4.1.1466.115.121.1.9"  // RFC 4523 §2.2
	syntaxCertPair        = "1.3.6.1.4.1.1466.115.121.1.10" // RFC 4523 §2.3
	syntaxAudio           = "1.3.6.1.4.1.1466.115.121.1.4"  // RFC 2252, historic
	syntaxFax             = "1.3.6.1.4.1.1466.115.121.1.23" // G3 fax image
	syntaxADLargeInteger  = "1.2.840.113556.1.4.906"        // AD's Interval/LargeInteger (2.5.5.16)
	syntaxADSecDesc       = "1.2.840.113556.1.4.907"        // AD's NT-Sec-Desc (2.5.5.15)
)

// SCIMType is the SCIM attribute type (RFC 7643 §2.3) that holds values of the
// LDAP syntax oid (a "{length}" bound ignored): INTEGER and AD's LargeInteger →
// integer, Boolean → boolean, GeneralizedTime → dateTime, DN → reference,
// octet strings, JPEG, certificates and other binary syntaxes → binary, every
// other syntax (Directory String, IA5 String, Telephone Number, UTCTime, …) →
// string. The gateway converts the values accordingly (booleans as TRUE/FALSE,
// dateTime ↔ GeneralizedTime, binary as base64 in SCIM and raw bytes in LDAP).
func SCIMType(oid string) string {
	oid, _, _ = strings.Cut(strings.TrimSpace(oid), "{")
	switch oid {
	case syntaxInteger, syntaxADLargeInteger:
		return "integer"
	case syntaxBoolean:
		return "boolean"
	case syntaxGeneralizedTime:
		return "dateTime"
	case syntaxDN:
		return "reference"
	case syntaxOctetString, syntaxJPEG, syntaxBinary, syntaxCertificate, syntaxCertList, syntaxCertPair, syntaxAudio, syntaxFax, syntaxADSecDesc:
		return "binary"
	}
	return "string"
}

// binaryTransfer reports whether values of the syntax must be requested with
// the ";binary" transfer option (RFC 4522: certificates, RFC 4523 §2).
func binaryTransfer(oid string) bool {
	switch oid {
	case syntaxCertificate, syntaxCertList, syntaxCertPair:
		return true
	}
	return false
}
