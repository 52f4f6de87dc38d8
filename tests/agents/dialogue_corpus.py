"""A tiny English dialogue corpus shared by the dialogue-agent tests."""

PAIRS = [
    ("how are you ?", "i am fine , thanks"),
    ("what ?", "i don't know"),
    ("i like pizza", "pizza is great"),
    ("pizza is great", "what is your name ?"),
    ("what is your name ?", "my name is bot"),
    ("the sky is blue", "yes it is"),
    ("do you like music ?", "yes i like music"),
    ("where are you ?", "i am at home"),
]
