package mapping

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/go-ldap/ldap/v3"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Expr is a compiled mapping expression: github.com/expr-lang/expr with its
// builtins switched off and a closed set of functions named as Microsoft Entra ID
// admins know them from attribute-mapping expressions (ExprFunctions). Variables
// are the resource's attributes by their SCIM names (userName, name.givenName,
// emails…), `enterprise` for the enterprise extension, a custom extension by its
// alias, and `value` for the attribute being converted (toLDAP / toSCIM).
// Absent attributes are nil; every function treats nil as "".
type Expr struct {
	Source string
	prog   *vm.Program
}

// exprMaxNodes bounds an expression's size: mappings are small, and the bound
// keeps a hostile or mistaken file from costing the gateway.
const exprMaxNodes = 500

// ExprFunctions lists the functions expressions may call, with their signature,
// for docs and error hints.
var ExprFunctions = []struct{ Name, Signature, Doc string }{
	{"Append", "Append(source, suffix)", "source followed by suffix"},
	{"Join", "Join(separator, value...)", "non-empty values (lists flattened) joined by separator"},
	{"Coalesce", "Coalesce(value...)", "the first non-empty value"},
	{"Switch", "Switch(source, default, key1, value1, key2, value2...)", "the value of the first key equal to source (case-insensitive), else default"},
	{"IIF", "IIF(condition, ifTrue, ifFalse)", "ifTrue when condition is true, else ifFalse"},
	{"IsPresent", "IsPresent(value)", "true when value is not nil or empty"},
	{"ToLower", "ToLower(source)", "lower case"},
	{"ToUpper", "ToUpper(source)", "upper case"},
	{"Trim", "Trim(source)", "without leading and trailing white space"},
	{"StripSpaces", "StripSpaces(source)", "without any white space"},
	{"Replace", "Replace(source, old, new)", "every old replaced by new"},
	{"Split", "Split(source, separator)", "a list of the parts"},
	{"Left", "Left(source, n)", "the first n characters"},
	{"Mid", "Mid(source, start, length)", "length characters from position start (1-based)"},
	{"NormalizeDiacritics", "NormalizeDiacritics(source)", "accents removed (Zoë → Zoe)"},
	{"ToInt", "ToInt(source)", "the integer in source, or 0"},
	{"EscapeDN", "EscapeDN(source)", "escaped for use as a DN attribute value (RFC 4514)"},
}

func exprText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		if len(x) > 0 {
			return exprText(x[0])
		}
		return ""
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func flatten(vals []any) []string {
	var out []string
	for _, v := range vals {
		if list, ok := v.([]any); ok {
			out = append(out, flatten(list)...)
			continue
		}
		if s := exprText(v); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func argc(name string, args []any, n int) error {
	if len(args) != n {
		return fmt.Errorf("%s takes %d arguments, got %d", name, n, len(args))
	}
	return nil
}

func toInt(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(exprText(v)))
	return n
}

var stripMarks = transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)

var exprFuncs = map[string]func(args ...any) (any, error){
	"Append": func(a ...any) (any, error) {
		if err := argc("Append", a, 2); err != nil {
			return nil, err
		}
		return exprText(a[0]) + exprText(a[1]), nil
	},
	"Join": func(a ...any) (any, error) {
		if len(a) < 1 {
			return nil, fmt.Errorf("Join needs a separator")
		}
		return strings.Join(flatten(a[1:]), exprText(a[0])), nil
	},
	"Coalesce": func(a ...any) (any, error) {
		for _, v := range a {
			if s := flatten([]any{v}); len(s) > 0 {
				return v, nil
			}
		}
		return nil, nil
	},
	"Switch": func(a ...any) (any, error) {
		if len(a) < 2 || len(a)%2 != 0 {
			return nil, fmt.Errorf("Switch takes source, default, then key/value pairs")
		}
		src := exprText(a[0])
		for i := 2; i+1 < len(a); i += 2 {
			if strings.EqualFold(exprText(a[i]), src) {
				return a[i+1], nil
			}
		}
		return a[1], nil
	},
	"IIF": func(a ...any) (any, error) {
		if err := argc("IIF", a, 3); err != nil {
			return nil, err
		}
		if b, _ := a[0].(bool); b {
			return a[1], nil
		}
		return a[2], nil
	},
	"IsPresent":   unary("IsPresent", func(v any) any { return len(flatten([]any{v})) > 0 }),
	"ToLower":     unaryText("ToLower", strings.ToLower),
	"ToUpper":     unaryText("ToUpper", strings.ToUpper),
	"Trim":        unaryText("Trim", strings.TrimSpace),
	"StripSpaces": unaryText("StripSpaces", func(s string) string { return strings.Join(strings.Fields(s), "") }),
	"Replace": func(a ...any) (any, error) {
		if err := argc("Replace", a, 3); err != nil {
			return nil, err
		}
		return strings.ReplaceAll(exprText(a[0]), exprText(a[1]), exprText(a[2])), nil
	},
	"Split": func(a ...any) (any, error) {
		if err := argc("Split", a, 2); err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(exprText(a[0]), exprText(a[1])) {
			out = append(out, p)
		}
		return out, nil
	},
	"Left": func(a ...any) (any, error) {
		if err := argc("Left", a, 2); err != nil {
			return nil, err
		}
		r := []rune(exprText(a[0]))
		return string(r[:min(max(toInt(a[1]), 0), len(r))]), nil
	},
	"Mid": func(a ...any) (any, error) {
		if err := argc("Mid", a, 3); err != nil {
			return nil, err
		}
		r := []rune(exprText(a[0]))
		start := min(max(toInt(a[1])-1, 0), len(r))
		return string(r[start:min(start+max(toInt(a[2]), 0), len(r))]), nil
	},
	"NormalizeDiacritics": unaryText("NormalizeDiacritics", func(s string) string {
		out, _, err := transform.String(stripMarks, s)
		if err != nil {
			return s
		}
		return out
	}),
	"ToInt":    unary("ToInt", func(v any) any { return toInt(v) }),
	"EscapeDN": unaryText("EscapeDN", ldap.EscapeDN),
}

func unary(name string, f func(any) any) func(...any) (any, error) {
	return func(a ...any) (any, error) {
		if err := argc(name, a, 1); err != nil {
			return nil, err
		}
		return f(a[0]), nil
	}
}

func unaryText(name string, f func(string) string) func(...any) (any, error) {
	return unary(name, func(v any) any { return f(exprText(v)) })
}

// compileExpr compiles src for an environment with the given variables (see
// ResourceType.exprVars). Unknown names and functions, and syntax errors, are
// compile errors that say where (expr reports line:column within the expression).
func compileExpr(src string, env map[string]any) (*Expr, error) {
	opts := []expr.Option{expr.Env(env), expr.DisableAllBuiltins(), expr.MaxNodes(exprMaxNodes)}
	for name, fn := range exprFuncs {
		opts = append(opts, expr.Function(name, fn))
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		// expr's first line says what and where ("unknown name ToLowr (1:12)");
		// the rest repeats the source with a caret.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		if strings.Contains(msg, "unknown name") {
			msg += "; functions: " + funcNames()
		}
		return nil, fmt.Errorf("%s", msg)
	}
	return &Expr{Source: src, prog: prog}, nil
}

func funcNames() string {
	names := make([]string, len(ExprFunctions))
	for i, f := range ExprFunctions {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// Eval runs the expression; a run-time error names the expression.
func (x *Expr) Eval(env map[string]any) (any, error) {
	out, err := expr.Run(x.prog, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %v", x.Source, err)
	}
	return out, nil
}

// exprValues turns an expression's result into LDAP values: nil and "" are no
// value, lists give one value each, booleans TRUE/FALSE, numbers in decimal.
func exprValues(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		if x {
			return []string{"TRUE"}
		}
		return []string{"FALSE"}
	case []any:
		return flatten(x)
	case []string:
		return x
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		var out []any
		for i := 0; i < rv.Len(); i++ {
			out = append(out, rv.Index(i).Interface())
		}
		return flatten(out)
	}
	if s := exprText(v); s != "" {
		return []string{s}
	}
	return nil
}
