"""The catalogue of rule codes. Codes are part of the API: the audit counts violations per rule,
and the CLI and REST API return them, so a code is never renamed or reused.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule code with its meaning in both languages."""

    code: str
    meaning_zh: str
    meaning_en: str


_CATALOGUE = (
    (
        "envelope.not_object",
        "摘要不是 JSON 对象",
        "the summary is not a JSON object",
    ),
    (
        "envelope.extra_field",
        "出现结构中未定义的字段",
        "a field the envelope does not name",
    ),
    (
        "envelope.missing_field",
        "缺少必填字段",
        "a required field is missing",
    ),
    (
        "envelope.version",
        "version 不是整数 1",
        "version is not the integer 1",
    ),
    (
        "envelope.wrong_type",
        "字段类型不对",
        "a field has the wrong type",
    ),
    (
        "envelope.invalid_value",
        "字段取值无效（其他情况）",
        "a field has an invalid value (other cases)",
    ),
    (
        "envelope.tone",
        "tone 不在 info/success/warning/danger 中",
        "tone is not info/success/warning/danger",
    ),
    (
        "envelope.metric_value",
        "指标值不是数字、字符串、布尔值或 null",
        "a metric value is not a number, string, boolean or null",
    ),
    (
        "envelope.duplicate_metric_key",
        "指标 key 重复",
        "two metrics share a key",
    ),
    (
        "envelope.scope_date",
        "scope.time.date 不是有效日期",
        "scope.time.date is not a valid day",
    ),
    (
        "envelope.scope_timezone",
        "scope.time.timezone 不是 IANA 时区",
        "scope.time.timezone is not an IANA time zone",
    ),
    (
        "envelope.skip_reason_missing",
        "skipped 为 true 但没有原因",
        "skipped is true without a reason",
    ),
    (
        "envelope.skip_reason_unexpected",
        "skipped 为 false 却有原因",
        "skip_reason is set although skipped is false",
    ),
    (
        "envelope.ext_type_format",
        "ext.type 不是合法的任务键",
        "ext.type is not a valid task key",
    ),
    (
        "envelope.ext_type_mismatch",
        "ext.type 与运行的 task_key 不一致",
        "ext.type differs from the run's task_key",
    ),
    (
        "envelope.ext_version",
        "ext.version 不是不小于 1 的整数",
        "ext.version is not an integer ≥ 1",
    ),
    (
        "envelope.ext_version_mismatch",
        "ext.version 与已注册任务类型的版本不一致",
        "ext.version differs from the registered type's version",
    ),
    (
        "envelope.ext_data_invalid",
        "ext.data 不符合任务类型的数据模型",
        "ext.data does not match the task type's data model",
    ),
    (
        "json.non_finite_number",
        "NaN 或 ±Infinity",
        "NaN or ±Infinity",
    ),
    (
        "json.bytes",
        "bytes 值",
        "a bytes value",
    ),
    (
        "json.unsupported_type",
        "无法转成 JSON 的类型",
        "a type that cannot become JSON",
    ),
    (
        "json.non_string_key",
        "对象的键不是字符串",
        "an object key that is not a string",
    ),
    (
        "json.invalid_string",
        "字符串含 NUL 或不成对的代理项",
        "a string with NUL or an unpaired surrogate",
    ),
    (
        "json.integer_range",
        "整数超出 64 位范围",
        "an integer outside the 64-bit range",
    ),
    (
        "json.too_deep",
        "嵌套超过规范化的深度上限",
        "nesting beyond the normalisation depth limit",
    ),
    (
        "secret.key_name",
        "键名表明是机密且值可能携带机密",
        "a key names a secret and its value could carry one",
    ),
    (
        "secret.value",
        "值中含密码、令牌、私钥等机密",
        "a value carries a password, token, private key or similar",
    ),
    (
        "personal_data.mobile",
        "中国大陆手机号",
        "a mainland China mobile number",
    ),
    (
        "personal_data.resident_id",
        "18 位居民身份证号（校验位正确）",
        "an 18-digit resident ID number with a valid check digit",
    ),
    (
        "personal_data.bank_card",
        "通过 Luhn 校验的银行卡号",
        "a bank card number that passes Luhn",
    ),
    (
        "personal_data.email",
        "电子邮件地址",
        "an e-mail address",
    ),
    (
        "capacity.summary_bytes",
        "序列化后超过字节上限",
        "the serialized summary is over the byte limit",
    ),
    (
        "capacity.summary_bytes_warning",
        "序列化后超过告警阈值（仍接受）",
        "the serialized summary is above the warning threshold (accepted)",
    ),
    (
        "capacity.array_items",
        "数组元素过多",
        "an array has too many elements",
    ),
    (
        "capacity.object_keys",
        "对象的键过多",
        "an object has too many keys",
    ),
    (
        "capacity.depth",
        "自由字段内嵌套过深",
        "nesting too deep inside a free-form part",
    ),
    (
        "capacity.string_chars",
        "字符串或键名过长",
        "a string or key is too long",
    ),
    (
        "capacity.highlights",
        "highlights 条数过多",
        "too many highlights",
    ),
    (
        "capacity.highlight_chars",
        "单条 highlight 过长",
        "a highlight is too long",
    ),
    (
        "builder.unknown_metric",
        "指标未在任务类型中定义（仅构建器）",
        "a metric the task type does not define (builders only)",
    ),
)

RULES: dict[str, RuleInfo] = {code: RuleInfo(code, zh, en) for code, zh, en in _CATALOGUE}
