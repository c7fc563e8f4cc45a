"""The third-party credit bureau over HTTP: `GET /scores/{cpf}` -> {"cpf", "score", "as_of"}."""

from __future__ import annotations

from datetime import date

from chalicelib.adapters.http_partners import OverHttp
from chalicelib.credit.model import BureauScore
from chalicelib.credit.ports import CreditBureau
from chalicelib.errors import PartnerUnavailable


class HttpCreditBureau(OverHttp, CreditBureau):
    def score(self, cpf: str) -> BureauScore | None:
        body = self._client.get_json(f"/scores/{cpf}")
        if body is None:
            return None
        score, as_of = body.get("score"), body.get("as_of")
        try:
            if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 1000:
                raise ValueError(f"score {score!r}")
            return BureauScore(score, date.fromisoformat(str(as_of)))
        except ValueError as exc:
            raise PartnerUnavailable("bureau", "unreadable score") from exc
