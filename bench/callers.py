"""Who the generated callbacks come from: thousands of users in hundreds of chats, with ids in
the formats each platform uses, so that nearly every callback comes from another user and chat,
as in a busy deployment. Callbacks that all came from one user in one chat would hide any cost
that grows with the users and chats a bot has seen (per-chat lanes, maps keyed by chat).

Drawn from a seeded generator: the same run size gives the same ids, run after run.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass

USERS = 5_000
CHATS = 300
SEED = 20261206

# Pinyin syllables: WeCom user ids are names ("ZhangWei", "wangfang02") in most companies.
SURNAMES = ("Zhang", "Wang", "Li", "Zhao", "Liu", "Chen", "Yang", "Huang", "Zhou", "Wu", "Xu",
            "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Luo", "Gao")
GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Jun", "Yang", "Yong", "Yan", "Jie", "Tao",
         "Ming", "Chao", "Xiu", "Xia", "Ping", "Gang", "Hui", "Qiang")
NAMES_HAN = ("张伟", "王芳", "李娜", "刘敏", "陈静", "杨磊", "赵军", "黄洋", "周勇", "吴艳")
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class Caller:
    """One callback's sender and chat (indexes into the population's users and chats)."""

    user: int
    chat: int


class Population:
    """`users` users and `chats` group chats; each callback draws one of each at random.
    `seed_offset`: another draw (other message ids) from the same users and chats, for a second
    file of callbacks that must not repeat the first one's events."""

    def __init__(self, users: int = USERS, chats: int = CHATS, seed: int = SEED,
                 seed_offset: int = 0) -> None:
        self.users = users
        self.chats = chats
        self.rng = random.Random(seed + 2 + seed_offset)
        rng = random.Random(seed + 1)  # ids: the same whatever is drawn for the callbacks
        self.hex_ids = [rng.getrandbits(128) for _ in range(users + chats + users)]
        self.alnum = ["".join(rng.choice(ALNUM) for _ in range(30)) for _ in range(chats)]

    def next(self) -> Caller:
        return Caller(self.rng.randrange(self.users), self.rng.randrange(self.chats))

    def random_bytes(self, n: int) -> bytes:
        return self.rng.getrandbits(8 * n).to_bytes(n, "big")

    def coin(self) -> bool:
        return self.rng.random() < 0.5

    # Feishu: open_id ou_ + 32 hex, chat_id oc_ + 32 hex (a p2p chat has its own chat_id).

    def feishu_open_id(self, user: int) -> str:
        return f"ou_{self.hex_ids[user]:032x}"

    def feishu_group_chat(self, chat: int) -> str:
        return f"oc_{self.hex_ids[self.users + chat]:032x}"

    def feishu_p2p_chat(self, user: int) -> str:
        return f"oc_{self.hex_ids[self.users + self.chats + user]:032x}"

    # WeCom: user ids like ZhangWei / wangfang17, group chat ids wr + 30 letters and digits.

    def wecom_user_id(self, user: int) -> str:
        surname = SURNAMES[user % len(SURNAMES)]
        given = GIVEN[(user // len(SURNAMES)) % len(GIVEN)]
        n = user // (len(SURNAMES) * len(GIVEN))
        name = surname + given if user % 3 else (surname + given).lower()
        return name if n == 0 else f"{name}{n:02d}"

    def wecom_name(self, user: int) -> str:
        return NAMES_HAN[user % len(NAMES_HAN)]

    def wecom_chat_id(self, chat: int) -> str:
        return "wr" + self.alnum[chat]

    def wecom_group_msg_id(self) -> str:
        return "CAIQ" + base64.b64encode(self.random_bytes(15)).decode("ascii")

    def wecom_app_msg_id(self) -> str:
        return str(10**18 + self.rng.randrange(9 * 10**18))

    # QQ: openids are 32 upper-case hex digits, opaque and per bot. A user has one here, used as
    # its C2C user_openid and its group member_openid alike; a group's group_openid likewise.

    def qq_user_openid(self, user: int) -> str:
        return f"{self.hex_ids[user]:032X}"

    def qq_group_openid(self, chat: int) -> str:
        return f"{self.hex_ids[self.users + chat]:032X}"
