"""JSON syntax errors worded for the CLI in both languages.

Python's ``json`` module states the problem in English ("Expecting value"). The CLI names the
input, the line and the column, and words the problem itself, keeping Python's text only in
English mode for a reason it has no wording for.
"""

from __future__ import annotations

from taskrun_center.contract import JsonTextError
from taskrun_center.i18n import Language, Text

# Message prefixes of CPython's json decoder (3.11), with the problem in both languages.
_JSON_PROBLEMS: tuple[tuple[str, Text], ...] = (
    ("Expecting value", Text("此处应有一个 JSON 值", "a JSON value was expected")),
    ("Expecting property name", Text("属性名应写在双引号中",
                                     "a property name in double quotes was expected")),
    ("Expecting ':' delimiter", Text("此处应有冒号 :", "a ':' was expected")),
    ("Expecting ',' delimiter", Text("此处应有逗号 ,", "a ',' was expected")),
    ("Unterminated string", Text("字符串缺少结束的双引号", "a string has no closing quote")),
    ("Invalid control character", Text("字符串中有未转义的控制字符",
                                       "a string contains an unescaped control character")),
    ("Invalid \\u", Text("字符串中有无效的 \\u 转义", "a string contains an invalid \\u escape")),
    ("Invalid \\escape", Text("字符串中有无效的转义序列",
                              "a string contains an invalid escape sequence")),
    ("Extra data", Text("JSON 文档结束后还有多余的内容",
                        "there is more text after the JSON document")),
)
_UNKNOWN_PROBLEM = Text("语法错误", "{reason}")
_NOT_JSON = Text(
    "{source} 不是合法的 JSON：第 {line} 行第 {column} 列，{problem}。",
    "{source} is not valid JSON: line {line}, column {column}: {problem}.",
)
_STANDARD_INPUT = Text("标准输入", "Standard input")
_SYNTAX_PARAMS = frozenset({"line", "column", "reason"})


def json_error_text(error: JsonTextError, file: str, language: Language) -> str:
    """Return the message of ``error`` for the input ``file`` ("-" for stdin) in ``language``.

    A syntax error names the input, line and column. Other errors (too large, not UTF-8, a
    repeated key) keep the contract's own bilingual message.
    """
    if set(error.params) != _SYNTAX_PARAMS:
        return error.message(language)

    reason = str(error.params["reason"])
    problem = _UNKNOWN_PROBLEM
    for prefix, text in _JSON_PROBLEMS:
        if reason.startswith(prefix):
            problem = text
            break
    source = _STANDARD_INPUT.render(language) if file == "-" else file
    return _NOT_JSON.render(
        language,
        source=source,
        line=error.params["line"],
        column=error.params["column"],
        problem=problem.render(language, reason=reason),
    )
