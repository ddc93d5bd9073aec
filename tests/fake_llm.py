"""Fake LLM activities (plan, review, recover, agent_turn), registered under the real names."""

from __future__ import annotations

from collections import deque

from temporalio import activity

from durable_agents.contracts import (
    AgentTurn,
    AgentTurnRequest,
    Plan,
    PlanDraft,
    PlanRequest,
    RecoverOutcome,
    RecoverRequest,
    Recovery,
    Review,
    ReviewOutcome,
    ReviewRequest,
    Usage,
)


class FakeLlm:
    """Queue plans (or raw error lists), reviews and recoveries; requests are recorded."""

    def __init__(self) -> None:
        self.plans: deque[Plan | list[str]] = deque()
        self.reviews: deque[Review] = deque()
        self.plan_requests: list[PlanRequest] = []
        self.review_requests: list[ReviewRequest] = []
        self.recoveries: deque[Recovery] = deque()
        self.recover_requests: list[RecoverRequest] = []
        self.turns: deque[AgentTurn] = deque()
        self.turn_requests: list[AgentTurnRequest] = []
        self.model = "fake-model"

    @activity.defn(name="plan")
    async def plan(self, request: PlanRequest) -> PlanDraft:
        self.plan_requests.append(request)
        item = self.plans.popleft()
        usage = Usage(calls=1, prompt_tokens=50, completion_tokens=10, model=self.model)
        if isinstance(item, list):
            return PlanDraft(plan=None, raw="{bad", errors=item, usage=usage)
        return PlanDraft(plan=item, raw=item.model_dump_json(), usage=usage)

    @activity.defn(name="review")
    async def review(self, request: ReviewRequest) -> ReviewOutcome:
        self.review_requests.append(request)
        item = self.reviews.popleft() if self.reviews else Review(verdict="done", answer="ok")
        return ReviewOutcome(
            review=item,
            usage=Usage(calls=1, prompt_tokens=30, completion_tokens=5, model=self.model),
        )

    @activity.defn(name="recover")
    async def recover(self, request: RecoverRequest) -> RecoverOutcome:
        self.recover_requests.append(request)
        return RecoverOutcome(
            recovery=self.recoveries.popleft(),
            usage=Usage(calls=1, prompt_tokens=40, completion_tokens=8, model=self.model),
        )

    @activity.defn(name="agent_turn")
    async def agent_turn(self, request: AgentTurnRequest) -> AgentTurn:
        self.turn_requests.append(request)
        return self.turns.popleft()
