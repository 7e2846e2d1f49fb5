"""SDK-HMAC-SHA256 signing (protocols.md §3.2) against Huawei's own published example, then properties."""

from __future__ import annotations

import hashlib

import pytest

from assistantd.recognizer import huawei_sign as hs

# Huawei "API Request Signing Guide" (devg-apisign api-sign-algorithm-002/-003/-004): the VPC-list example.
# It publishes the canonical request, its hash, the SK, and the resulting Authorization header.
DOC_AK = "QTWAOYTTINDUT2QVKYUC"
DOC_SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
DOC_DATE = "20191115T033655Z"
DOC_PATH = "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
DOC_QUERY = "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"
DOC_HEADERS = [
    ("Content-Type", "application/json"),
    ("Host", "service.region.example.com"),
    ("X-Sdk-Date", DOC_DATE),
]
DOC_CANONICAL = (
    "GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n"
    "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n"
    "content-type:application/json\nhost:service.region.example.com\nx-sdk-date:20191115T033655Z\n\n"
    "content-type;host;x-sdk-date\n"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)
DOC_HASH = "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
DOC_AUTHORIZATION = (
    "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
    "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
)
DOC_EPOCH = 1573789015.0  # 2019-11-15T03:36:55Z


def test_documented_example_canonical_request() -> None:
    canonical = hs.canonical_request("GET", DOC_PATH, DOC_QUERY, DOC_HEADERS)
    assert canonical.text == DOC_CANONICAL
    assert hashlib.sha256(canonical.text.encode()).hexdigest() == DOC_HASH


def test_documented_example_string_to_sign_and_authorization() -> None:
    canonical = hs.canonical_request("GET", DOC_PATH, DOC_QUERY, DOC_HEADERS)
    to_sign = hs.string_to_sign(canonical.text, DOC_DATE)
    assert to_sign == f"SDK-HMAC-SHA256\n{DOC_DATE}\n{DOC_HASH}"
    sig = hs.signature(DOC_SK, to_sign)
    assert hs.authorization(DOC_AK, canonical.signed_headers, sig) == DOC_AUTHORIZATION


def test_documented_example_verifies_and_tampering_does_not() -> None:
    headers = {k.lower(): v for k, v in DOC_HEADERS} | {"authorization": DOC_AUTHORIZATION}
    target = f"{DOC_PATH}?{DOC_QUERY}"
    assert hs.verify_request("GET", target, headers, ak=DOC_AK, sk=DOC_SK, now=DOC_EPOCH).ok
    bad = [
        hs.verify_request("GET", target, headers, ak=DOC_AK, sk=DOC_SK + "x", now=DOC_EPOCH),
        hs.verify_request("POST", target, headers, ak=DOC_AK, sk=DOC_SK, now=DOC_EPOCH),
        hs.verify_request("GET", DOC_PATH + "?limit=3", headers, ak=DOC_AK, sk=DOC_SK, now=DOC_EPOCH),
        hs.verify_request("GET", target, headers, ak="OTHER", sk=DOC_SK, now=DOC_EPOCH),
        hs.verify_request("GET", target, headers, ak=DOC_AK, sk=DOC_SK, now=DOC_EPOCH + 16 * 60),
        hs.verify_request(
            "GET", target, headers | {"host": "evil.example.com"}, ak=DOC_AK, sk=DOC_SK, now=DOC_EPOCH
        ),
    ]
    assert [v.reason for v in bad] == [
        "signature mismatch",
        "signature mismatch",
        "signature mismatch",
        "unknown access key",
        "signature expired",
        "signature mismatch",
    ]
    assert all(DOC_SK not in v.reason for v in bad)


def test_sdk_date_uses_the_injected_clock_in_utc() -> None:
    assert hs.sdk_date(DOC_EPOCH) == DOC_DATE
    assert hs.sdk_date(DOC_EPOCH + 0.999) == DOC_DATE
    assert hs.parse_sdk_date(DOC_DATE) == DOC_EPOCH
    assert hs.parse_sdk_date("2019-11-15T03:36:55Z") is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/p/rasr/short-stream", "/v1/p/rasr/short-stream/"),
        ("/v1/p/rasr/short-stream/", "/v1/p/rasr/short-stream/"),
        ("", "/"),
        ("/a b/%7Ex", "/a%20b/~x/"),
        ("/中文", "/%E4%B8%AD%E6%96%87/"),
    ],
)
def test_canonical_uri(path: str, expected: str) -> None:
    assert hs.canonical_uri(path) == expected


def test_canonical_query_sorts_keys_then_values() -> None:
    assert hs.canonical_query("b=2&a=1&a=0&c") == "a=0&a=1&b=2&c="
    assert hs.canonical_query("q=a%20b") == "q=a%20b"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/p/rasr/x", "sis-ext.cn-north-4.myhuaweicloud.com"),
        ("wss://h.example.com:443/x", "h.example.com"),
        ("wss://h.example.com:8443/x", "h.example.com:8443"),
        ("ws://127.0.0.1:41234/x", "127.0.0.1:41234"),
        ("ws://[::1]:5000/x", "[::1]:5000"),
    ],
)
def test_host_header_matches_what_a_websocket_client_sends(url: str, host: str) -> None:
    assert hs.host_header(url) == host


def test_sign_upgrade_is_deterministic_and_verifiable() -> None:
    url = "wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/proj/rasr/short-stream"
    extra = [("Enterprise-Project-Id", "ep-1")]
    headers = hs.sign_upgrade(url, extra, ak="AK1", sk="SK1", clock=lambda: DOC_EPOCH)
    assert headers == hs.sign_upgrade(url, extra, ak="AK1", sk="SK1", clock=lambda: DOC_EPOCH)
    names = [name for name, _ in headers]
    assert names == ["X-Sdk-Date", "Authorization"], "Host is signed but never sent twice (§3.2)"
    auth = dict(headers)["Authorization"]
    assert auth.startswith("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=enterprise-project-id;host;x-sdk-date,")
    received = {"host": "sis-ext.cn-north-4.myhuaweicloud.com", "enterprise-project-id": "ep-1"}
    received |= {k.lower(): v for k, v in headers}
    verdict = hs.verify_request(
        "GET", "/v1/proj/rasr/short-stream", received, ak="AK1", sk="SK1", now=DOC_EPOCH
    )
    assert verdict.ok
    later = hs.sign_upgrade(url, extra, ak="AK1", sk="SK1", clock=lambda: DOC_EPOCH + 1)
    assert dict(later)["Authorization"] != auth


def test_duplicate_signed_header_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        hs.canonical_request("GET", "/", "", [("Host", "a"), ("host", "b")])
