"""Passages shared by the index tests (imported by them; holds no tests itself)."""
from __future__ import annotations

PASSAGES = [
    dict(passage_id="js1", document_id="d-js", version_id="v-js", unit="JS", year=2023, kind="policy",
         indicators=["4", "13"], confirmed=["4"], title="江苏省推进产业工人队伍建设改革实施方案",
         doc_number="苏产改〔2023〕1号", issuer="江苏省总工会", date="2023-05-01", filename="js.pdf", page=1,
         start=0, text="江苏省全面推进产业工人队伍建设改革，建设劳模工匠学院。<script>alert('x')</script>"),
    dict(passage_id="js2", document_id="d-js", version_id="v-js", unit="JS", year=2023, kind="policy",
         indicators=["4", "13"], title="江苏省推进产业工人队伍建设改革实施方案", date="2023-05-01",
         filename="js.pdf", page=2, start=60, text="队伍建设与改革创新并举，技能人才评价制度改革持续深化。"),
    dict(passage_id="sh1", document_id="d-sh", version_id="v-sh", unit="SH", year=2021, kind="report",
         indicators="5", title="上海市产改工作总结", date="2021-12-20", filename="sh.docx", page=1, start=0,
         text="上海市產業工人隊伍建設改革取得實效，技能人才培養成效顯著。"),
    dict(passage_id="sh2", document_id="d-sh2", version_id="v-sh2", unit="SH", year=2020, kind="report",
         indicators=["13"], title="上海市劳模工匠学院建设", date="2020-03-02", filename="sh2.pdf", page=3,
         text="上海市建设劳模工匠学院十所，推进产业工人队伍建设改革。"),
    dict(passage_id="zj1", document_id="d-zj", version_id="v-zj", unit="ZJ", year=2019, kind="case",
         indicators=["7"], title="浙江案例", date="2019-07-07", filename="zj.pdf", page=1,
         text="浙江省首席技师制度覆盖重点企业，职工董事监事制度健全。劳动竞赛广泛开展。"),
]


def build(ix, passages=PASSAGES):
    ix.add(passages)
    return ix
