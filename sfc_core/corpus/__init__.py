"""Classifying a video collection (`sfc-batch`): which files, what each row holds, where rows are
stored, and the engines that run the model over them (this process, or a Ray cluster)."""
